import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { run } from './run.ts'

// There is no container registry here (MACHINE-NOTES.md): base images are root filesystems assembled from the
// host's own static busybox and node binaries, then imported into Docker.

const BUSYBOX_CANDIDATES = ['/usr/bin/busybox', '/bin/busybox']

/** A root filesystem in `dir`: static busybox with every applet linked, /etc/passwd, /tmp. */
export async function buildBusyboxRootfs(dir: string): Promise<void> {
  const busybox = await hostBusybox()
  await copyInto(dir, busybox, '/bin/busybox')
  const stdout = await run(busybox, ['--list-full'])
  for (const applet of stdout.split('\n').filter((line) => line !== '' && line !== 'bin/busybox')) {
    const link = path.join(dir, applet)
    await fs.mkdir(path.dirname(link), { recursive: true })
    await fs.symlink('/bin/busybox', link)
  }
  await fs.mkdir(path.join(dir, 'etc'), { recursive: true })
  await fs.writeFile(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  )
  await fs.writeFile(path.join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n')
  await fs.mkdir(path.join(dir, 'root'), { mode: 0o700 })
  await fs.mkdir(path.join(dir, 'tmp'))
  await fs.chmod(path.join(dir, 'tmp'), 0o1777)
}

/** Adds the host's node binary (as /usr/local/bin/node) and the shared libraries `ldd` says it loads. */
export async function addNodeToRootfs(dir: string): Promise<void> {
  await copyInto(dir, process.execPath, '/usr/local/bin/node')
  for (const lib of await nodeLibraries()) await copyInto(dir, lib, lib)
}

/**
 * A fingerprint of what the images would be built from (binaries' paths, sizes, mtimes, and the recipe version):
 * an image labelled with the same key is up to date. Bump RECIPE when the rootfs layout changes.
 */
export async function recipeKey(kind: 'busybox' | 'node'): Promise<string> {
  const RECIPE = 1
  const files = [await hostBusybox(), ...(kind === 'node' ? [process.execPath, ...(await nodeLibraries())] : [])]
  const stats = await Promise.all(
    files.map(async (f) => `${f}:${(await fs.stat(f)).size}:${(await fs.stat(f)).mtimeMs}`),
  )
  return createHash('sha256')
    .update(`${RECIPE}:${kind}:${stats.join(',')}`)
    .digest('hex')
    .slice(0, 16)
}

async function hostBusybox(): Promise<string> {
  for (const candidate of BUSYBOX_CANDIDATES) {
    if (
      await fs.stat(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate
  }
  throw new Error(
    `busybox not found (${BUSYBOX_CANDIDATES.join(', ')}): install busybox-static (scripts/test and scripts/start do)`,
  )
}

/** Absolute paths from `ldd node`: "libx.so.6 => /lib/.../libx.so.6 (0x…)" and the loader "/lib64/ld-….so.2 (0x…)". */
async function nodeLibraries(): Promise<string[]> {
  const stdout = await run('ldd', [process.execPath])
  const libs = stdout
    .split('\n')
    .map((line) => /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1])
    .filter((lib): lib is string => lib !== undefined)
  return [...new Set(libs)]
}

/** Copies the file behind `source` (symlinks followed: the loader is one) to `target` inside the rootfs. */
async function copyInto(rootfs: string, source: string, target: string): Promise<void> {
  const destination = path.join(rootfs, target)
  await fs.mkdir(path.dirname(destination), { recursive: true })
  await fs.copyFile(await fs.realpath(source), destination)
  await fs.chmod(destination, 0o755)
}
