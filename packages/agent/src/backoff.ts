/**
 * Reconnect delays: exponential with FULL jitter (delay = random(0, min(max, base·2^attempt))), so a fleet of
 * agents that lost the master at the same moment does not come back in lock-step and flatten it again.
 */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}

/** A backoff sequence: next() grows the ceiling each call until maxMs; reset() after a connection that held. */
export function createBackoff(opts: { baseMs: number; maxMs: number; random?: () => number }) {
  let attempt = 0
  const random = opts.random ?? Math.random
  return {
    next(): number {
      return fullJitterDelay(attempt++, opts.baseMs, opts.maxMs, random)
    },
    /** A delay near the cap, for failures a quick retry cannot fix (a refused credential). */
    atCap(): number {
      return Math.floor(opts.maxMs / 2 + random() * (opts.maxMs / 2))
    },
    reset(): void {
      attempt = 0
    },
    get attempt(): number {
      return attempt
    },
  }
}

export type Backoff = ReturnType<typeof createBackoff>
