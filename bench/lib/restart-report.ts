// bench/restart's output: the reconnect-delay histogram (1 s buckets up to 30 s, then ≥ 30 s), percentiles, how many
// agents were back within 30 s, and one BENCH_JSON line for machines.
import { summarize } from './stats.ts'

export interface RestartReport {
  agents: number
  procs: number
  backoff: { baseMs: number; maxMs: number }
  /** From the kill to the restarted master's first 200 on /health. */
  masterDownS: number
  /** Per agent that came back: its new welcome minus the master's first 200 on /health. */
  delaysMs: number[]
  /** Agents not back when the bench stopped waiting. */
  missing: number
  redials: number
  masterAlive: boolean
}

const TARGET_S = 30

export function histogram(delaysMs: readonly number[]): { from: number; to: number | null; count: number }[] {
  const buckets = Array.from({ length: TARGET_S + 1 }, (_, i) => ({
    from: i,
    to: i < TARGET_S ? i + 1 : null,
    count: 0,
  }))
  for (const ms of delaysMs) buckets[Math.min(TARGET_S, Math.floor(ms / 1000))]!.count++
  return buckets
}

export function printRestartReport(r: RestartReport): void {
  const s = summarize(r.delaysMs)
  const within = r.delaysMs.filter((ms) => ms < TARGET_S * 1000).length
  const buckets = histogram(r.delaysMs)
  const widest = Math.max(1, ...buckets.map((b) => b.count))
  const lines = [
    '',
    `bench/restart: ${r.agents} agents (${r.procs} simulator processes), master SIGKILLed and restarted`,
    `backoff: full jitter, base ${r.backoff.baseMs} ms, max ${r.backoff.maxMs} ms (the agent's configuration)`,
    `master down (kill -> first 200 on /health): ${r.masterDownS.toFixed(1)} s; still alive at the end: ${r.masterAlive}`,
    '',
    'reconnect delay after /health answered | agents',
    ...buckets.map((b) => {
      const label = b.to === null ? `>= ${b.from} s` : `${b.from}-${b.to} s`
      const bar = '#'.repeat(Math.round((b.count / widest) * 50))
      return `${label.padStart(9)} | ${String(b.count).padStart(6)} ${bar}`
    }),
    '',
    `p50 ${(s.p50 / 1000).toFixed(2)} s, p90 ${(s.p90 / 1000).toFixed(2)} s, p99 ${(s.p99 / 1000).toFixed(2)} s, ` +
      `max ${(s.max / 1000).toFixed(2)} s`,
    `back within ${TARGET_S} s: ${within} of ${r.agents}` +
      (r.missing > 0 ? ` (${r.missing} never came back while we waited)` : '') +
      `; redials after the drop: ${r.redials} (${(r.redials / r.agents).toFixed(1)} per agent)`,
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const json = {
    bench: 'restart',
    agents: r.agents,
    procs: r.procs,
    backoff: r.backoff,
    masterDownS: Math.round(r.masterDownS * 10) / 10,
    delayMs: s,
    withinTargetS: TARGET_S,
    backWithinTarget: within,
    missing: r.missing,
    redials: r.redials,
    masterAlive: r.masterAlive,
    histogram: buckets.map((b) => b.count),
  }
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`)
}
