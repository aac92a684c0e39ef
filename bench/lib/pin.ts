// Pinning the bench's processes to CPUs, so that two "servers" on this machine each have a core of their own as two
// real servers would, instead of sharing both cores with each other (see bench/move --pin).
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The pid listening on TCP `port` on this machine. */
export async function pidOnPort(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-ltnpH', `sport = :${port}`])
  const pid = /pid=(\d+)/.exec(stdout)?.[1]
  if (!pid) throw new Error(`nothing listens on port ${port}: ${stdout}`)
  return Number(pid)
}

/** The pids whose environment has `name=value` (the agents: told apart by their state directories). */
export async function pidsWithEnv(name: string, matches: (value: string) => boolean): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const env = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
    const value = env
      .split('\0')
      .find((v) => v.startsWith(`${name}=`))
      ?.slice(name.length + 1)
    if (value !== undefined && matches(value)) found.push(Number(entry))
  }
  return found
}

/** Pins every thread of `pid` (and so the children it starts from now on) to `cpu`. */
export async function pin(pid: number, cpu: number): Promise<void> {
  await run('taskset', ['-a', '-c', '-p', String(cpu), String(pid)])
}

/** argv run pinned to `cpu` (`taskset -c cpu argv…`), or argv as it is. */
export const pinned = (cpu: number | undefined, argv: string[]) =>
  cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv]
