import fs from 'node:fs/promises'
import path from 'node:path'
import type Docker from 'dockerode'
import { addNodeToRootfs, buildBusyboxRootfs, recipeKey } from './rootfs.ts'
import { makeBuildDir, run } from './run.ts'

/** Static busybox (sh, httpd, wget, nc): `FROM alfa-test/busybox:1` in Dockerfiles (the tests' name, kept). */
export const BUSYBOX_IMAGE = 'alfa-test/busybox:1'
/** The host's node (20 here) with its shared libraries, plus busybox for sh: for apps in JavaScript. */
export const NODE_IMAGE = 'alfa-test/node:20'
/** Label on the base images holding their recipe key, so a changed host binary triggers a rebuild. */
const RECIPE_LABEL = 'alfa.test.recipe'

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

/** A label of a local image, or undefined when the image is not there. */
export async function imageLabel(docker: Docker, tag: string, label: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Config.Labels?.[label]
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined
    throw error
  }
}

// One build per image per process; two processes may still build concurrently, which is harmless (both import
// identical content under the same tag).
const pending = new Map<string, Promise<void>>()

/**
 * Builds the base images when missing or outdated (there is no registry to pull them from): a few seconds once, a
 * few milliseconds after.
 */
export async function ensureBaseImages(docker: Docker): Promise<{ busybox: string; node: string }> {
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
  const dir = await makeBuildDir(`image-${kind}`)
  try {
    const rootfs = path.join(dir, 'rootfs')
    await buildBusyboxRootfs(rootfs)
    if (kind === 'node') await addNodeToRootfs(rootfs)
    const tarPath = path.join(dir, 'rootfs.tar')
    await run('tar', ['-C', rootfs, '--owner=0', '--group=0', '--numeric-owner', '-cf', tarPath, '.'])
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
