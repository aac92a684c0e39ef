import { constants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type Dockerode from 'dockerode'
import type { DbEngine, DiskUsage } from '@alfa/protocol'
import type { Exec } from './exec.ts'

/** Facts about the host shared by server.info, doctor and the metrics sampler. */

/** Directories searched besides PATH: a service's PATH may lack the sbin directories where daemons live. */
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** The absolute path of an executable named `name` on PATH (or in `extraDirs`), if any. */
export async function findExecutable(name: string, extraDirs: readonly string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...EXTRA_BIN_DIRS, ...extraDirs]
  for (const dir of new Set(dirs)) {
    const candidate = path.join(dir, name)
    try {
      await fs.access(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not in this directory (or not executable): keep looking.
      continue
    }
  }
  return undefined
}

/** PostgreSQL's versioned bin directories (/usr/lib/postgresql/<v>/bin on Debian), newest name last. */
async function postgresBinDirs(): Promise<string[]> {
  const root = '/usr/lib/postgresql'
  const versions = await fs.readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
  return versions.sort().map((version) => path.join(root, version, 'bin'))
}

/** The database engines whose server binaries are installed here. */
export async function installedDbEngines(): Promise<DbEngine[]> {
  const engines: DbEngine[] = []
  if ((await findExecutable('mariadbd')) ?? (await findExecutable('mysqld'))) engines.push('mariadb')
  if (await findExecutable('postgres', await postgresBinDirs())) engines.push('postgresql')
  return engines
}

/** PRETTY_NAME from /etc/os-release ("Debian GNU/Linux 12 (bookworm)"), or "unknown". */
export async function osPrettyName(): Promise<string> {
  // A system without os-release (a minimal container) is reported as "unknown", not as a failed command.
  const text = await fs.readFile('/etc/os-release', 'utf8').catch(() => '')
  const match = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(text)
  return (match?.[1] ?? match?.[2] ?? 'unknown').slice(0, 256)
}

/** The Docker Engine's version, via the API the agent drives it through. */
export async function dockerVersion(docker: Dockerode): Promise<string> {
  return (await docker.version()).Version
}

/** A tool's version from `<argv>` output matched by `pattern` (first group); undefined when it is not installed. */
export async function toolVersion(exec: Exec, argv: readonly string[], pattern: RegExp): Promise<string | undefined> {
  const program = argv[0]
  if (program === undefined || (await findExecutable(program)) === undefined) return undefined
  const { stdout, stderr } = await exec(argv, { timeoutMs: 10_000 })
  // nginx -v prints to stderr, git and certbot to stdout: look at both.
  return pattern.exec(`${stdout}\n${stderr}`)?.[1]?.slice(0, 256)
}

export const nginxVersion = (exec: Exec) => toolVersion(exec, ['nginx', '-v'], /nginx\/(\S+)/)
export const gitVersion = (exec: Exec) => toolVersion(exec, ['git', '--version'], /git version (\S+)/)
export const certbotVersion = (exec: Exec) => toolVersion(exec, ['certbot', '--version'], /certbot (\S+)/)
export const zstdVersion = (exec: Exec) => toolVersion(exec, ['zstd', '--version'], /(v\d+\.\d+\.\d+)/)

/** Size and use of each mount that exists (df's "used" = blocks - free); missing mounts are left out. */
export async function diskUsage(mounts: readonly string[]): Promise<DiskUsage[]> {
  const usage: DiskUsage[] = []
  for (const mount of mounts) {
    try {
      const stats = await fs.statfs(mount)
      usage.push({ mount, total: stats.blocks * stats.bsize, used: (stats.blocks - stats.bfree) * stats.bsize })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return usage
}
