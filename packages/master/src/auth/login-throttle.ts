import type { Clock } from '../clock.ts'
import { TooManyRequests } from '../errors.ts'

export interface ThrottleOptions {
  /** Failures allowed per key in the window before each further attempt waits a growing delay. */
  maxFailures: number
  windowMs: number
  /** Longest delay, however many failures follow. */
  maxLockMs: number
  /** Attempts of one key checked at the same time (each is a scrypt run: ~128 MiB and a core for ~0.3 s); the same
   * credentials sent in parallel share one check, so a legitimate client needs no more than one. */
  maxParallel?: number
  /** Most keys remembered; past it the stalest are forgotten, so a scan of many addresses cannot fill memory. */
  maxKeys?: number
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  maxFailures: 10,
  windowMs: 10 * 60_000,
  maxLockMs: 15 * 60_000,
  maxParallel: 1,
  maxKeys: 10_000,
}

interface Entry {
  failures: number[]
  lockedUntil: number
  /** Attempts reserved and not yet decided (a password hash is running for them). */
  inFlight: number
}

/** A reserved attempt: decide it exactly once, after the (slow) check it was reserved for. */
export interface Attempt {
  failed(): void
  /** A success forgets the failures of the keys reserved with `clearOnSuccess`. */
  succeeded(): void
  /** The check could not be made (a database error): the attempt is released without counting. */
  abandoned(): void
}

/**
 * Counts failed attempts per key (an (account, address) pair, an address) and slows a key down once it passes
 * `maxFailures` in the window: each further failure doubles its wait, up to `maxLockMs`. An attempt is reserved
 * before the password hash runs, and reservations count against the budget, so parallel guesses cannot all reach
 * scrypt. Kept in memory per master process: a second replica counts on its own.
 */
export function createLoginThrottle(clock: Clock, opts: ThrottleOptions = DEFAULT_THROTTLE) {
  const entries = new Map<string, Entry>()
  const maxKeys = opts.maxKeys ?? DEFAULT_THROTTLE.maxKeys!
  const maxParallel = opts.maxParallel ?? DEFAULT_THROTTLE.maxParallel!

  function prune(entry: Entry, now: number) {
    if (entry.failures.length && now - entry.failures[0]! >= opts.windowMs)
      entry.failures = entry.failures.filter((t) => now - t < opts.windowMs)
  }

  function idle(entry: Entry, now: number) {
    prune(entry, now)
    return entry.inFlight === 0 && entry.failures.length === 0 && entry.lockedUntil <= now
  }

  /**
   * Room for one more key: idle keys go first, then the oldest (Map order is insertion order), down to 90% of the
   * bound so a scan of fresh addresses pays for a sweep once per tenth of the bound, not on every request.
   */
  function makeRoom(now: number) {
    if (entries.size < maxKeys) return
    for (const [k, e] of entries) if (idle(e, now)) entries.delete(k)
    const target = Math.floor(maxKeys * 0.9)
    for (const k of entries.keys()) {
      if (entries.size <= target) break
      entries.delete(k)
    }
  }

  function entryOf(key: string, now: number): Entry {
    let entry = entries.get(key)
    if (!entry) {
      makeRoom(now)
      entry = { failures: [], lockedUntil: 0, inFlight: 0 }
      entries.set(key, entry)
    }
    return entry
  }

  /** Seconds a key must wait before a new attempt, 0 when one may start now. */
  function waitOf(entry: Entry, now: number): number {
    prune(entry, now)
    if (entry.lockedUntil > now) return Math.ceil((entry.lockedUntil - now) / 1000)
    // Within the budget, as many parallel attempts as failures are left (at most maxParallel); past it, one at a time.
    const allowed = Math.max(1, Math.min(maxParallel, opts.maxFailures - entry.failures.length))
    return entry.inFlight >= allowed ? 1 : 0
  }

  return {
    /**
     * Reserves an attempt on every key, or throws TooManyRequests (with the longest wait) without reserving any.
     * Call it right before the expensive check, and decide the attempt after it. `clearOnSuccess` names the keys a
     * success forgets (an (account, address) pair's, never an address's: one good login must not launder a scan).
     */
    reserve(keys: string[], how: { clearOnSuccess?: string[] } = {}): Attempt {
      const now = clock.now().getTime()
      let wait = 0
      for (const key of keys) {
        const entry = entries.get(key)
        if (entry) wait = Math.max(wait, waitOf(entry, now))
      }
      if (wait > 0) throw new TooManyRequests(wait)
      const held = keys.map((key) => entryOf(key, now))
      for (const entry of held) entry.inFlight++
      let decided = false
      const release = () => {
        if (decided) return false
        decided = true
        for (const entry of held) entry.inFlight = Math.max(0, entry.inFlight - 1)
        return true
      }
      return {
        failed() {
          if (!release()) return
          const at = clock.now().getTime()
          for (const entry of held) {
            prune(entry, at)
            entry.failures.push(at)
            const over = entry.failures.length - opts.maxFailures
            if (over >= 0) entry.lockedUntil = at + Math.min(opts.maxLockMs, 1000 * 2 ** Math.min(over, 20))
          }
        },
        abandoned() {
          release()
        },
        succeeded() {
          if (!release()) return
          for (const key of how.clearOnSuccess ?? []) {
            const entry = entries.get(key)
            if (entry && entry.inFlight === 0) entries.delete(key)
          }
        },
      }
    },
    /** Seconds before any of the keys may try again (0: now); for callers that only look. */
    retryAfter(keys: string[]): number {
      const now = clock.now().getTime()
      return Math.max(0, ...keys.map((k) => (entries.has(k) ? waitOf(entries.get(k)!, now) : 0)))
    },
    /**
     * Whether the key has spent its failure budget in the window and must wait before its next attempt (a key merely
     * at its parallel limit within the budget is not).
     */
    spentAndWaiting(key: string): boolean {
      const entry = entries.get(key)
      if (!entry) return false
      const now = clock.now().getTime()
      return waitOf(entry, now) > 0 && entry.failures.length >= opts.maxFailures
    },
    /** Keys currently remembered (for the bound's test). */
    size: () => entries.size,
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
