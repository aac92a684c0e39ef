import fs from 'node:fs/promises'

/** Parsers for the /proc files the sampler reads: pure functions over the text, so they are tested on fixtures too. */

/** CPU time counters of the whole machine (the "cpu" line of /proc/stat), in clock ticks. */
export interface CpuTimes {
  idle: number
  total: number
}

/** Sums the aggregate cpu line; idle includes iowait (waiting on disk is not work), guest time is already in user. */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '))
  if (!line) throw new Error('/proc/stat has no aggregate cpu line')
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal }
}

/** Busy percentage of the whole machine between two readings (0..100, not per core). */
export function cpuPercent(previous: CpuTimes, current: CpuTimes): number {
  const total = current.total - previous.total
  if (total <= 0) return 0
  const busy = 1 - (current.idle - previous.idle) / total
  return Math.min(100, Math.max(0, Math.round(busy * 1000) / 10))
}

/** The 1, 5 and 15 minute load averages from /proc/loadavg. */
export function parseLoadavg(text: string): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = text.trim().split(/\s+/).map(Number)
  return [one, five, fifteen]
}

/** Memory in bytes from /proc/meminfo: used = total - available (MemAvailable, what can still be used). */
export function parseMeminfo(text: string): { total: number; used: number; available: number } {
  const kb = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)
    if (!match?.[1]) throw new Error(`/proc/meminfo has no ${key}`)
    return Number(match[1]) * 1024
  }
  const total = kb('MemTotal')
  const available = Math.min(total, kb('MemAvailable'))
  return { total, used: total - available, available }
}

/** Received and sent bytes summed over every interface but loopback (traffic to clients, not to ourselves). */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0
  let txBytes = 0
  for (const line of text.split('\n').slice(2)) {
    const [name, counters] = line.split(':')
    if (counters === undefined || name === undefined || name.trim() === 'lo') continue
    const fields = counters.trim().split(/\s+/).map(Number)
    rxBytes += fields[0] ?? 0
    txBytes += fields[8] ?? 0
  }
  return { rxBytes, txBytes }
}

/** Reads one /proc file (a tiny, always-present text; separate so tests can point the sampler elsewhere). */
export const readProc = (name: string, root = '/proc'): Promise<string> => fs.readFile(`${root}/${name}`, 'utf8')
