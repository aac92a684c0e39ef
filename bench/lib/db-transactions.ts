// PostgreSQL's committed transactions (pg_stat_database.xact_commit) per request, with the work that goes on
// without requests (metrics flushes, agent presence) measured apart and taken out, not hidden in the figure.
import { setTimeout as sleep } from 'node:timers/promises'

export type Count = { n: number; at: number }

/**
 * Committed transactions after PostgreSQL's statistics caught up (backends report them about once a second), and
 * when the count was read.
 */
export async function transactions(read: (() => Promise<number>) | undefined): Promise<Count | undefined> {
  if (!read) return undefined
  await sleep(1_500)
  return { n: await read(), at: performance.now() }
}

/**
 * Transactions per request in each window (x0–x1 lists, x1–x2 commands one at a time, x2–x3 commands in flight),
 * gross, and net of the background rate measured over the steady window (xs0–xs1: agents streaming, no requests).
 */
export function perRequest(x: Record<'xs0' | 'xs1' | 'x0' | 'x1' | 'x2' | 'x3', Count>, requests: number) {
  const round = (v: number) => Math.round(v * 100) / 100
  const background = (x.xs1.n - x.xs0.n) / ((x.xs1.at - x.xs0.at) / 1000)
  const gross = (a: Count, b: Count) => (b.n - a.n) / requests
  const net = (a: Count, b: Count) => (b.n - a.n - background * ((b.at - a.at) / 1000)) / requests
  return {
    list: round(gross(x.x0, x.x1)),
    command: round(gross(x.x1, x.x2)),
    commandConcurrent: round(gross(x.x2, x.x3)),
    backgroundPerSec: round(background),
    commandNet: round(net(x.x1, x.x2)),
    commandConcurrentNet: round(net(x.x2, x.x3)),
  }
}
