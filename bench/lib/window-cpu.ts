// CPU over a window of a run: the target's, PostgreSQL's, the simulators', the bench's own, and the machine's busy
// time that none of them caused ("not ours": other work on a shared machine), with the load average at its end.
import { cpus, loadavg } from 'node:os'
import { cpuTimes, machineCpu, treeCpuSeconds } from './proc.ts'

export interface CpuSnapshot {
  target: number
  /** The target's kernel time, part of `target`. */
  targetSystem: number
  postgres: number
  sims: number
  self: number
  machine: { busy: number; total: number }
  at: number
}

function selfCpu(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

export function cpuSnapshot(targetPid: number, postgresPid: number | undefined, simCpuSeconds: number): CpuSnapshot {
  const target = cpuTimes(targetPid)
  return {
    target: target.total,
    targetSystem: target.system,
    postgres: postgresPid ? treeCpuSeconds(postgresPid) : 0,
    sims: simCpuSeconds,
    self: selfCpu(),
    machine: machineCpu(),
    at: performance.now(),
  }
}

const pct = (v: number) => Math.round(v * 1000) / 10

/** Percentages of one core over the window a–b; machineBusyPct is of the whole machine. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot) {
  const seconds = (b.at - a.at) / 1000
  const machineBusyPct = pct((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total))
  const ours = b.target - a.target + (b.postgres - a.postgres) + (b.sims - a.sims) + (b.self - a.self)
  return {
    seconds,
    targetCpuPct: pct((b.target - a.target) / seconds),
    // How much of it the kernel spent (socket writes and reads, file appends): what no JavaScript change shortens
    // except by making fewer syscalls.
    targetSystemCpuPct: pct((b.targetSystem - a.targetSystem) / seconds),
    postgresCpuPct: pct((b.postgres - a.postgres) / seconds),
    simCpuPct: pct((b.sims - a.sims) / seconds),
    machineBusyPct,
    foreignCpuPct: Math.max(0, Math.round(machineBusyPct * cpus().length - pct(ours / seconds))),
    loadAvg1: Math.round(loadavg()[0]! * 100) / 100,
  }
}
