// PostgreSQL's committed transactions (pg_stat_database.xact_commit) per request, with the work that goes on
// without requests (metrics flushes, agent presence) measured apart and taken out, not hidden in the figure.
import { setTimeout as sleep } from 'node:timers/promises'

export type Count = { n: number; writes: number; at: number }

/**
 * Committed transactions once PostgreSQL's statistics caught up (a backend that goes idle reports its count within
 * 10 s; a busy one about every second), write transactions (exact at once), and when they were read.
 */
export async function transactions(
  read: (() => Promise<{ all: number; writes: number }>) | undefined,
): Promise<Count | undefined> {
  if (!read) return undefined
  await sleep(11_000)
  const { all, writes } = await read()
  return { n: all, writes, at: performance.now() }
}

/**
 * Transactions per request in each window (x0–x1 lists, x1–x2 commands one at a time, x2–x3 commands in flight),
 * gross, and net of the background rate measured over the steady window (xs0–xs1: agents streaming, no requests).
 */
export function perRequest(
  x: Record<'xs0' | 'xs1' | 'x0' | 'x1' | 'x2' | 'x3', Count>,
  requests: number,
  /** Commands in the in-flight window (every round of it). */
  concurrentRequests: number,
): TransactionsPerRequest {
  return {
    ...counted(x, requests, concurrentRequests, (c) => c.n),
    writes: counted(x, requests, concurrentRequests, (c) => c.writes),
  }
}

export interface PerWindow {
  list: number
  command: number
  commandConcurrent: number
  backgroundPerSec: number
  commandNet: number
  commandConcurrentNet: number
}

/**
 * Every committed transaction (reads too), and `writes`: the write transactions alone. `list`, `command` (one at a
 * time) and `commandConcurrent` count everything in their window, metrics flushes and agent presence included;
 * `backgroundPerSec` is that other work's rate alone, and the `…Net` figures take it out.
 */
export type TransactionsPerRequest = PerWindow & { writes: PerWindow }

function counted(
  x: Record<'xs0' | 'xs1' | 'x0' | 'x1' | 'x2' | 'x3', Count>,
  requests: number,
  concurrentRequests: number,
  n: (c: Count) => number,
): PerWindow {
  const round = (v: number) => Math.round(v * 100) / 100
  const background = (n(x.xs1) - n(x.xs0)) / ((x.xs1.at - x.xs0.at) / 1000)
  const gross = (a: Count, b: Count, count = requests) => (n(b) - n(a)) / count
  const net = (a: Count, b: Count, count = requests) => (n(b) - n(a) - background * ((b.at - a.at) / 1000)) / count
  return {
    list: round(gross(x.x0, x.x1)),
    command: round(gross(x.x1, x.x2)),
    commandConcurrent: round(gross(x.x2, x.x3, concurrentRequests)),
    backgroundPerSec: round(background),
    commandNet: round(net(x.x1, x.x2)),
    commandConcurrentNet: round(net(x.x2, x.x3, concurrentRequests)),
  }
}
