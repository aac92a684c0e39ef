/** Latency summary in milliseconds; percentiles by nearest rank, which is what "p99 of 2,000 requests" usually means. */
export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/**
 * The middle value of xs. For an even count, the lower or the upper of the two middle values, never their mean, so
 * the figure is one that was measured; each bench names the one it reports (the stricter reading of its target).
 */
export function median(xs: readonly number[], even: 'lower' | 'upper'): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[even === 'lower' ? (sorted.length - 1) >> 1 : sorted.length >> 1]!
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const sum = sorted.reduce((n, v) => n + v, 0)
  const round = (v: number) => Math.round(v * 100) / 100
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sorted.length ? sum / sorted.length : Number.NaN),
  }
}

/** ours / baseline, rounded; undefined when either side is missing so the report shows "n/a" rather than Infinity. */
export function ratio(ours: number | undefined, base: number | undefined): number | undefined {
  if (ours === undefined || base === undefined || !Number.isFinite(ours) || !Number.isFinite(base) || base === 0)
    return undefined
  return Math.round((ours / base) * 100) / 100
}
