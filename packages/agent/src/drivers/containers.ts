import net from 'node:net'
import type Dockerode from 'dockerode'
import { containerNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'
import { CLIENT_LABEL, SERVER_LABEL } from '../commands/container/labels.ts'
import { execInContainer, type ContainerExecOptions } from './container-exec.ts'

export const SLUG_LABEL = 'alfa.slug'
/** Seconds Docker gives the app to stop before killing it. */
const STOP_TIMEOUT_S = 10

export interface ContainerSpec {
  slug: string
  clientId: string
  image: string
  env: Record<string, string>
  containerPort: number
  memoryMb: number
  cpus: number
}

export interface ClientContainer {
  id: string
  name: string
  running: boolean
  clientId: string | undefined
}

const isNotFound = (error: unknown) => (error as { statusCode?: unknown }).statusCode === 404
/** Another process took the port between our check and Docker's bind. */
const isPortTaken = (error: unknown) => /port is already allocated|address already in use/i.test(error instanceof Error ? error.message : String(error))
const PORT_ATTEMPTS = 5

/** A port free on `host` right now, chosen by the kernel. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** The client containers of this server, through dockerode (labels mark what is ours). */
export function createContainers(o: { docker: Dockerode; serverId: string; bind: string }) {
  const { docker } = o

  /** The container `alfa-<slug>`: undefined when absent; CONFLICT when it exists but is not this server's. */
  async function find(slug: string): Promise<ClientContainer | undefined> {
    const name = containerNameForSlug(slug)
    try {
      const info = await docker.getContainer(name).inspect()
      if (info.Config.Labels?.[SERVER_LABEL] !== o.serverId) {
        // Same name, not ours (another server on this engine, or hand-made): never touch it.
        throw new CommandError(wireError('CONFLICT', `container ${name} exists but does not belong to this server`))
      }
      return { id: info.Id, name, running: info.State.Running, clientId: info.Config.Labels?.[CLIENT_LABEL] }
    } catch (error) {
      if (error instanceof CommandError) throw error
      if (isNotFound(error)) return undefined
      throw dockerFailure(error, `inspecting ${name}`)
    }
  }

  /** Force-removes the client's container (ours only); true when there was one. */
  async function remove(slug: string): Promise<boolean> {
    const found = await find(slug)
    if (!found) return false
    try {
      await docker.getContainer(found.id).remove({ force: true, v: true })
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw dockerFailure(error, `removing ${found.name}`)
    }
  }

  /**
   * Creates and starts the container on a fixed host port. Not HostPort "" (Docker's pick): Docker picks again on
   * every start, so a restart (restart policy, daemon or host reboot) would move the app away from the port the
   * nginx site names. We take a free port and pin it; if someone grabs it first, we try another.
   */
  async function createAndStart(spec: ContainerSpec): Promise<{ id: string; name: string; hostPort: number }> {
    const name = containerNameForSlug(spec.slug)
    for (let attempt = 1; ; attempt++) {
      const hostPort = await freePort(o.bind)
      try {
        const container = await createContainer(spec, name, hostPort)
        try {
          await container.start()
        } catch (error) {
          await container.remove({ force: true, v: true }).catch(() => undefined)
          throw error
        }
        return { id: container.id, name, hostPort }
      } catch (error) {
        if (isPortTaken(error) && attempt < PORT_ATTEMPTS) continue
        throw dockerFailure(error, `starting ${name}`)
      }
    }
  }

  function createContainer(spec: ContainerSpec, name: string, hostPort: number): Promise<Dockerode.Container> {
    const portKey = `${spec.containerPort}/tcp`
    return docker.createContainer({
      name,
      Image: spec.image,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      Labels: { [CLIENT_LABEL]: spec.clientId, [SERVER_LABEL]: o.serverId, [SLUG_LABEL]: spec.slug },
      ExposedPorts: { [portKey]: {} },
      HostConfig: {
        PortBindings: { [portKey]: [{ HostIp: o.bind, HostPort: String(hostPort) }] },
        RestartPolicy: { Name: 'unless-stopped' },
        Memory: spec.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(spec.cpus * 1e9),
      },
    })
  }

  /** Runs argv in the client's running container (no shell), stdin and streamed lines as the options say. */
  async function exec(slug: string, argv: readonly string[], opts: ContainerExecOptions): Promise<void> {
    const found = await find(slug)
    if (!found) throw new CommandError(wireError('NOT_FOUND', `container ${containerNameForSlug(slug)} does not exist`))
    await execInContainer(docker, docker.getContainer(found.id), argv, opts)
  }

  /** Stops the container (tests, and later maintenance actions). */
  async function stop(slug: string): Promise<void> {
    const found = await find(slug)
    if (found?.running) await docker.getContainer(found.id).stop({ t: STOP_TIMEOUT_S })
  }

  return { find, remove, createAndStart, exec, stop }
}

export type Containers = ReturnType<typeof createContainers>
