// The bench's side of the simulator workers: forks them, splits agents among them, and merges their reports.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BurstReport, ConnectReport, FromWorker, SimIdentity, ToWorker, WorkerStats } from './sim-protocol.ts'

const WORKER = fileURLToPath(new URL('./sim-worker.ts', import.meta.url))

export interface ConnectResult {
  ok: number
  failed: number
  /** First connect attempt to last welcome, over all workers. */
  seconds: number
  errors: Record<string, number>
}

/** The workers' figures added up (the same fields as one worker's report). */
export type PoolStats = Omit<WorkerStats, 'type'>

class Worker {
  private waiting: ((msg: FromWorker) => void)[] = []
  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: FromWorker) => this.waiting.shift()?.(msg))
  }

  /** Requests are answered in order (the worker handles one message at a time per type, and we never overlap). */
  ask<R extends FromWorker>(msg: ToWorker): Promise<R> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`simulator worker ${this.child.pid} exited (${code}) during ${msg.type}`))
      this.child.once('exit', onExit)
      this.waiting.push((reply) => {
        this.child.off('exit', onExit)
        resolve(reply as R)
      })
      this.child.send(msg)
    })
  }
}

export class SimPool {
  private workers: Worker[]

  constructor(procs: number, cwd: string, track: (child: ChildProcess) => void) {
    this.workers = Array.from({ length: procs }, () => {
      // Each worker holds at most a few thousand sockets: the 20,000 open-files cap is per process.
      const child = fork(WORKER, [], {
        cwd,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      track(child)
      return new Worker(child)
    })
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!).filter(Boolean)
  }

  /** Connects the agents (round-robin over workers and source addresses), `wave` at a time in total. */
  async connect(
    url: string,
    agents: SimIdentity[],
    localAddresses: string[],
    wave: number,
    timeoutMs = 60_000,
  ): Promise<ConnectResult> {
    const shares = this.workers.map((_, i) => agents.filter((_a, k) => k % this.workers.length === i))
    const perWorkerWave = Math.max(1, Math.ceil(wave / this.workers.length))
    const reports = await Promise.all(
      this.workers.map((w, i) =>
        w.ask<ConnectReport>({
          type: 'connect',
          url,
          agents: shares[i]!,
          localAddresses,
          wave: perWorkerWave,
          timeoutMs,
        }),
      ),
    )
    const errors: Record<string, number> = {}
    for (const r of reports) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
    const first = Math.min(...reports.map((r) => r.firstStart))
    const last = Math.max(...reports.map((r) => r.lastWelcome))
    return {
      ok: reports.reduce((n, r) => n + r.ok, 0),
      failed: reports.reduce((n, r) => n + r.failed, 0),
      seconds: last > 0 ? Math.round(last - first) / 1000 : Number.NaN,
      errors,
    }
  }

  async stream(on: boolean, intervalMs: number): Promise<void> {
    await Promise.all(this.workers.map((w) => w.ask({ type: 'stream', on, intervalMs })))
  }

  async stats(): Promise<PoolStats> {
    const all = await Promise.all(this.workers.map((w) => w.ask<WorkerStats>({ type: 'stats' })))
    const sum = (k: keyof PoolStats) => all.reduce((n, s) => n + s[k], 0)
    return {
      open: sum('open'),
      sent: sum('sent'),
      commands: sum('commands'),
      badFrames: sum('badFrames'),
      errorFrames: sum('errorFrames'),
      dropped: sum('dropped'),
      cpuSeconds: sum('cpuSeconds'),
      rssMiB: Math.round(sum('rssMiB')),
    }
  }

  /** Every agent sends `frames` frames then a probe; the result spans first send to last probe answer. */
  async burst(frames: number, timeoutMs: number): Promise<{ sent: number; answered: number; seconds: number }> {
    const all = await Promise.all(this.workers.map((w) => w.ask<BurstReport>({ type: 'burst', frames, timeoutMs })))
    const start = Math.min(...all.map((r) => r.start))
    const end = Math.max(...all.map((r) => r.end))
    return {
      sent: all.reduce((n, r) => n + r.sent, 0),
      answered: all.reduce((n, r) => n + r.answered, 0),
      seconds: (end - start) / 1000,
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.ask({ type: 'close' })))
  }
}
