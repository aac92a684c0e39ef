import fs from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import { makeTempDir, runCommand } from './process.ts'
import { addNodeToRootfs, buildBusyboxRootfs, recipeKey } from './rootfs.ts'

/** Static busybox (sh, httpd, wget, nc): `FROM alfa-test/busybox:1` in fixture Dockerfiles. */
export const BUSYBOX_IMAGE = 'alfa-test/busybox:1'
/** The host's node (20 here) with its shared libraries, plus busybox for sh: for fixture apps in JavaScript. */
export const NODE_IMAGE = 'alfa-test/node:20'
/** Label on the base images holding their recipe key, so a changed host binary triggers a rebuild. */
const RECIPE_LABEL = 'alfa.test.recipe'

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

/** Waits for a Docker progress stream (build, import) to end; rejects on the first error event it carries. */
export async function followDockerStream(docker: Docker, stream: NodeJS.ReadableStream): Promise<object[]> {
  const events = await new Promise<object[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: object[]) =>
      error ? reject(error) : resolve(output),
    )
  })
  const failure = events.find((e): e is { error: string } => typeof (e as { error?: unknown }).error === 'string')
  if (failure) throw new Error(`docker: ${failure.error}`)
  return events
}

// One build per image per test process; workers of the same run may still build concurrently, which is harmless
// (both import identical content under the same tag). test/setup/global.ts can call this once to avoid it.
const pending = new Map<string, Promise<void>>()

/** Builds the base images when missing or outdated (a few seconds once, a few milliseconds after). */
export async function ensureBaseImages(docker = new Docker()): Promise<{ busybox: string; node: string }> {
  const build = (tag: string, kind: 'busybox' | 'node') => {
    if (!pending.has(tag))
      pending.set(
        tag,
        ensureImage(docker, tag, kind).finally(() => pending.delete(tag)),
      )
    return pending.get(tag)
  }
  await Promise.all([build(BUSYBOX_IMAGE, 'busybox'), build(NODE_IMAGE, 'node')])
  return { busybox: BUSYBOX_IMAGE, node: NODE_IMAGE }
}

async function ensureImage(docker: Docker, tag: string, kind: 'busybox' | 'node'): Promise<void> {
  const key = await recipeKey(kind)
  if ((await imageLabel(docker, tag, RECIPE_LABEL)) === key) return
  const dir = await makeTempDir(`image-${kind}`)
  try {
    const rootfs = path.join(dir, 'rootfs')
    await buildBusyboxRootfs(rootfs)
    if (kind === 'node') await addNodeToRootfs(rootfs)
    const tarPath = path.join(dir, 'rootfs.tar')
    await runCommand('tar', ['-C', rootfs, '--owner=0', '--group=0', '--numeric-owner', '-cf', tarPath, '.'])
    const [repo, version] = tag.split(':') as [string, string]
    const changes = [
      `LABEL ${RECIPE_LABEL}=${key}`,
      'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      kind === 'node' ? 'CMD ["node"]' : 'CMD ["sh"]',
    ]
    await followDockerStream(docker, await docker.importImage(tarPath, { repo, tag: version, changes }))
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

/** A label of a local image, or undefined when the image is not there. */
export async function imageLabel(docker: Docker, tag: string, label: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Config.Labels?.[label]
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined
    throw error
  }
}
