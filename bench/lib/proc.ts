// Readings of other processes from /proc: the bench compares the master with its baseline by RSS, CPU and open files.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat times (100 on every Linux we run on; asked once to be sure). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100 // getconf missing: Linux's USER_HZ is 100 on every architecture we target
  }
})()

/** Resident set size in MiB (VmRSS now, or VmHWM: the peak), or undefined when the process is gone. */
export function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined
  } catch {
    return undefined // the process exited between the caller's check and this read
  }
}

function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined // gone
  }
}

/**
 * CPU seconds a process has used so far: user + system, and the system (kernel) part alone, from one reading, so
 * the part never exceeds its whole.
 */
export function cpuTimes(pid: number): { total: number; system: number } {
  const f = statFields(pid)
  if (!f) return { total: 0, system: 0 }
  // After comm: state is index 0, so utime (field 14) is index 11 and stime index 12.
  const system = Number(f[12]) / CLK_TCK
  return { total: Number(f[11]) / CLK_TCK + system, system }
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  return cpuTimes(pid).total
}

/** A process's state letter (R, S, D, T for stopped…), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0]
}

/** The parent of a process, or undefined when it is gone. */
export function parentPid(pid: number): number | undefined {
  const f = statFields(pid)
  return f ? Number(f[1]) : undefined
}

/**
 * CPU seconds of a process and its direct children (PostgreSQL's postmaster and its backends), counting children that
 * already exited through the root's cutime + cstime so that a backend ending mid-window does not make it go backwards.
 */
export function treeCpuSeconds(rootPid: number): number {
  const root = statFields(rootPid)
  // cutime and cstime (fields 16 and 17) are indices 13 and 14 after comm.
  let total = cpuSeconds(rootPid) + (root ? (Number(root[13]) + Number(root[14])) / CLK_TCK : 0)
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const f = statFields(Number(name))
    if (f && Number(f[1]) === rootPid) total += cpuSeconds(Number(name))
  }
  return total
}

/** Open file descriptors (sockets included), or undefined when the process is gone. */
export function openFiles(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return undefined
  }
}

/** Cumulative busy and total CPU time of the whole machine (/proc/stat), to tell when both cores are saturated. */
export function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((n, v) => n + v, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0) // idle + iowait
  return { busy: total - idle, total }
}
