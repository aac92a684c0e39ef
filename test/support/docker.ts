import Docker from 'dockerode'
import {
  BUSYBOX_IMAGE,
  ensureBaseImages as ensureBaseImagesWith,
  followDockerStream,
  imageLabel,
  NODE_IMAGE,
} from '../../packages/demo-app/src/index.ts'
import { runCommand } from './process.ts'

// The base images (static busybox; the host's node) are built by packages/demo-app, which ./scripts/start uses for
// the demo image too; the tests reach them through here.
export { BUSYBOX_IMAGE, followDockerStream, imageLabel, NODE_IMAGE }

/** Builds the base images when missing or outdated (a few seconds once, a few milliseconds after). */
export function ensureBaseImages(docker = new Docker()): Promise<{ busybox: string; node: string }> {
  return ensureBaseImagesWith(docker)
}

/** True when the Docker daemon answers within a few seconds (tests that need it skip or fail clearly otherwise). */
export async function dockerAvailable(docker = new Docker()): Promise<boolean> {
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(reject, 3_000, new Error('ping timed out')).unref())
    await Promise.race([docker.ping(), timeout])
    return true
  } catch {
    // Any failure (no socket, daemon down, timeout) means "not available"; the caller decides what that means.
    return false
  }
}

/** The host's address as containers on the default bridge see it (172.17.0.1 unless configured otherwise). */
export async function bridgeGateway(docker = new Docker()): Promise<string> {
  const network = (await docker.getNetwork('bridge').inspect()) as {
    IPAM?: { Config?: { Gateway?: string }[] }
    Options?: Record<string, string>
  }
  const gateway = network.IPAM?.Config?.find((c) => c.Gateway)?.Gateway
  if (gateway) return gateway
  // Docker 20.10 leaves Gateway out of the default bridge's IPAM config: the host's address on the bridge
  // interface (docker0) is the gateway. Not os.networkInterfaces(): libuv omits interfaces without carrier, and
  // docker0 has none while no container runs.
  const bridge = network.Options?.['com.docker.network.bridge.name'] ?? 'docker0'
  const { stdout } = await runCommand('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge])
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(stdout)?.[1]
  if (!address) throw new Error(`docker bridge network has no gateway address (no IPv4 address on ${bridge})`)
  return address
}

/** Force-removes every container (running or not) carrying `label` ("key" or "key=value"); returns how many. */
export async function removeContainersByLabel(label: string, docker = new Docker()): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } })
  await Promise.all(
    containers.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true })
      } catch (error) {
        // Already gone (another cleanup, or auto-remove): that is the state we want.
        if ((error as { statusCode?: number }).statusCode !== 404) throw error
      }
    }),
  )
  return containers.length
}

/** Removes every network carrying `label` (after its containers: a network in use cannot go); returns how many. */
export async function removeNetworksByLabel(label: string, docker = new Docker()): Promise<number> {
  const networks = await docker.listNetworks({ filters: { label: [label] } })
  for (const n of networks) {
    try {
      await docker.getNetwork(n.Id).remove()
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error
    }
  }
  return networks.length
}

/** Removes the volumes carrying `label` (clients' data volumes); those still in use by a container stay. */
export async function removeVolumesByLabel(label: string, docker = new Docker()): Promise<number> {
  const { Volumes } = await docker.listVolumes({ filters: { label: [label] } })
  for (const v of Volumes ?? []) {
    try {
      await docker.getVolume(v.Name).remove()
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error
    }
  }
  return (Volumes ?? []).length
}
