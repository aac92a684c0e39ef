import net from 'node:net'
import type Dockerode from 'dockerode'

/** A port free on `host` right now, chosen by the kernel. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Another process took the port between our check and Docker's bind. */
export const isPortTaken = (error: unknown) =>
  /port is already allocated|address already in use/i.test(error instanceof Error ? error.message : String(error))
/** How many free ports a create tries before it gives up. */
export const PORT_ATTEMPTS = 5

/**
 * The host port the container's first port is published on, from Docker's inspect. Fixed when the container is
 * created (containers.ts, createAndStart), so it is the same before and after a restart.
 */
export function hostPortOf(info: Dockerode.ContainerInspectInfo): number | undefined {
  const binding = Object.values(info.HostConfig.PortBindings ?? {})[0] as { HostPort?: string }[] | undefined
  const port = Number(binding?.[0]?.HostPort)
  return Number.isInteger(port) && port > 0 ? port : undefined
}
