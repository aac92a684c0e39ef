import { readFileSync } from 'node:fs'

/** Resident memory of a process as the kernel reports it (/proc/<pid>/status), in bytes: now and the peak so far. */
export function processMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`)
    return Number(m[1]) * 1024
  }
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the largest value seen. */
export function sampleRss(pid: number, everyMs = 20) {
  let max = processMemory(pid).rss
  const timer = setInterval(() => {
    try {
      max = Math.max(max, processMemory(pid).rss)
    } catch {
      clearInterval(timer) // the process is gone; the last value stands
    }
  }, everyMs)
  return {
    stop(): number {
      clearInterval(timer)
      return max
    },
  }
}
