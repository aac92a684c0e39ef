// Which of nginx's workers take new connections, read from /proc: the proof that a reload has reached every worker.
// `nginx -s reload` only signals the master, which starts new workers and ~100 ms later tells the old ones to stop;
// an old worker stops taking connections when it handles that (its title then says "is shutting down").
import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** How often the old workers are looked at while a reload takes effect. */
const POLL_MS = 5

/** A process title of a worker that takes new connections ("nginx: worker process", not "… is shutting down"). */
export const isServingWorker = (title: string): boolean =>
  title.startsWith('nginx: worker process') && !title.includes('shutting down')

/** A process's title as `ps` shows it, from its /proc cmdline (nginx rewrites its argv, NUL-padded). */
export const processTitle = (cmdline: string): string => cmdline.replace(/\0+/g, ' ').trim()

/** A process's title, or undefined once the process is gone. */
async function titleOf(procDir: string, pid: number): Promise<string | undefined> {
  try {
    return processTitle(await fs.readFile(path.join(procDir, String(pid), 'cmdline'), 'latin1'))
  } catch {
    return undefined
  }
}

/**
 * The workers taking connections under the master whose pid `pidFile` holds, or undefined when that cannot be told
 * (no pid file, no such master, /proc hidden, no worker): then a reload falls back to a fixed wait.
 */
export async function servingWorkers(pidFile: string, procDir = '/proc'): Promise<number[] | undefined> {
  const master = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim())
  if (!Number.isSafeInteger(master) || master <= 0) return undefined
  const children = await fs
    .readFile(path.join(procDir, String(master), 'task', String(master), 'children'), 'utf8')
    .catch(() => undefined)
  if (children === undefined) return undefined
  const pids = children.split(/\s+/).filter(Boolean).map(Number)
  const workers: number[] = []
  for (const pid of pids) {
    const title = await titleOf(procDir, pid)
    if (title !== undefined && isServingWorker(title)) workers.push(pid)
  }
  return workers.length > 0 ? workers : undefined
}

/**
 * Waits until none of `old` takes connections any more (gone, or shutting down); false if some still do after
 * `timeoutMs` (a reload nginx's master did not apply: the confirmation through nginx that follows will say so).
 */
export async function oldWorkersStopped(old: readonly number[], timeoutMs: number, procDir = '/proc') {
  const until = Date.now() + timeoutMs
  let serving = [...old]
  for (;;) {
    const titles = await Promise.all(serving.map((pid) => titleOf(procDir, pid)))
    serving = serving.filter((_, i) => titles[i] !== undefined && isServingWorker(titles[i]))
    if (serving.length === 0) return true
    if (Date.now() >= until) return false
    await sleep(POLL_MS)
  }
}
