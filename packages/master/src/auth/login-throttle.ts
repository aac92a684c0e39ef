import type { Clock } from '../clock.ts'

export interface ThrottleOptions {
  /** Failures allowed in the window before requests are refused. */
  maxFailures: number
  windowMs: number
  /** Longest lock-out, however many failures follow. */
  maxLockMs: number
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 10, windowMs: 10 * 60_000, maxLockMs: 15 * 60_000 }

interface Entry {
  failures: number[]
  lockedUntil: number
}

/**
 * Counts failed logins per key (a user name, an address) and refuses a key with a growing lock-out once it passes
 * `maxFailures` in the window. Kept in memory per master process: a second replica counts on its own, which at
 * most doubles an attacker's budget (noted in the README).
 */
export function createLoginThrottle(clock: Clock, opts: ThrottleOptions = DEFAULT_THROTTLE) {
  const entries = new Map<string, Entry>()

  function prune(entry: Entry, now: number) {
    entry.failures = entry.failures.filter((t) => now - t < opts.windowMs)
  }

  return {
    /** Seconds to wait when any key is locked out, else 0. */
    retryAfter(keys: string[]): number {
      const now = clock.now().getTime()
      let wait = 0
      for (const key of keys) {
        const entry = entries.get(key)
        if (entry && entry.lockedUntil > now) wait = Math.max(wait, Math.ceil((entry.lockedUntil - now) / 1000))
      }
      return wait
    },
    /** Records a failure for each key; past the limit each further failure doubles the lock-out. */
    fail(keys: string[]): void {
      const now = clock.now().getTime()
      for (const key of keys) {
        const entry = entries.get(key) ?? { failures: [], lockedUntil: 0 }
        prune(entry, now)
        entry.failures.push(now)
        const over = entry.failures.length - opts.maxFailures
        if (over >= 0) entry.lockedUntil = now + Math.min(opts.maxLockMs, 1000 * 2 ** Math.min(over, 20))
        entries.set(key, entry)
      }
      if (entries.size > 100_000)
        for (const [k, e] of entries) if (e.lockedUntil < now && e.failures.length === 0) entries.delete(k)
    },
    /** A success clears the user's count (not the address's: one good login must not launder a scan). */
    succeed(key: string): void {
      entries.delete(key)
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
