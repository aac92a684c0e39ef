// Pinning the bench's processes to CPUs, so that two "servers" on this machine each have a core of their own as two
// real servers would, instead of sharing both cores with each other (see bench/move --pin).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

export { pidsWithEnv } from '../../test/support/proc-env.ts'

const run = promisify(execFile)

/** The pid listening on TCP `port` on this machine. */
export async function pidOnPort(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-ltnpH', `sport = :${port}`])
  const pid = /pid=(\d+)/.exec(stdout)?.[1]
  if (!pid) throw new Error(`nothing listens on port ${port}: ${stdout}`)
  return Number(pid)
}

/** Pins every thread of `pid` (and so the children it starts from now on) to `cpu`. */
export async function pin(pid: number, cpu: number): Promise<void> {
  await run('taskset', ['-a', '-c', '-p', String(cpu), String(pid)])
}

/** argv run pinned to `cpu` (`taskset -c cpu argv…`), or argv as it is. */
export const pinned = (cpu: number | undefined, argv: string[]) =>
  cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv]
