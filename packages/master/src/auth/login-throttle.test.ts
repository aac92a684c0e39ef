import { describe, expect, it } from 'vitest'
import { TooManyRequests } from '../errors.ts'
import { createLoginThrottle } from './login-throttle.ts'

function manualClock(start = 0) {
  let t = start
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms
    },
  }
}

const refused = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    if (err instanceof TooManyRequests) return err.retryAfterSeconds
    throw err
  }
  return 0
}

describe('login-throttle', () => {
  it('slows a key down after maxFailures in the window, with a growing delay', () => {
    const clock = manualClock(1_000_000)
    const throttle = createLoginThrottle(clock, { maxFailures: 3, windowMs: 60_000, maxLockMs: 600_000 })
    for (let i = 0; i < 2; i++) throttle.reserve(['k']).failed()
    expect(throttle.retryAfter(['k'])).toBe(0)
    throttle.reserve(['k']).failed()
    const first = throttle.retryAfter(['k'])
    expect(first).toBeGreaterThan(0)
    expect(refused(() => throttle.reserve(['k']))).toBe(first)
    clock.advance(first * 1000)
    throttle.reserve(['k']).failed()
    expect(throttle.retryAfter(['k'])).toBeGreaterThan(first)
    expect(throttle.retryAfter(['other'])).toBe(0)
  })

  it('reserves before the check: parallel attempts beyond the budget are refused while the first run', () => {
    const throttle = createLoginThrottle(manualClock(), {
      maxFailures: 10,
      windowMs: 60_000,
      maxLockMs: 60_000,
      maxParallel: 3,
    })
    const held = []
    let refusals = 0
    for (let i = 0; i < 60; i++) {
      try {
        held.push(throttle.reserve(['pair', 'addr']))
      } catch (err) {
        if (!(err instanceof TooManyRequests)) throw err
        refusals++
      }
    }
    expect(held).toHaveLength(3)
    expect(refusals).toBe(57)
    for (const a of held) a.failed()
    for (let i = 0; i < 7; i++) throttle.reserve(['pair', 'addr']).failed()
    // Past the budget: one at a time, after the delay.
    expect(throttle.retryAfter(['pair'])).toBeGreaterThan(0)
  })

  it('a refused reservation reserves nothing on the other keys', () => {
    const throttle = createLoginThrottle(manualClock(), { maxFailures: 1, windowMs: 60_000, maxLockMs: 60_000 })
    throttle.reserve(['a']).failed()
    expect(refused(() => throttle.reserve(['b', 'a']))).toBeGreaterThan(0)
    // b is untouched: one attempt is still allowed on it.
    expect(refused(() => throttle.reserve(['b']))).toBe(0)
  })

  it('forgets failures outside the window and caps the delay', () => {
    const clock = manualClock()
    const throttle = createLoginThrottle(clock, { maxFailures: 2, windowMs: 1_000, maxLockMs: 5_000 })
    throttle.reserve(['k']).failed()
    clock.advance(2_000)
    throttle.reserve(['k']).failed()
    expect(throttle.retryAfter(['k'])).toBe(0)
    for (let i = 0; i < 30; i++) {
      clock.advance(5_000)
      throttle.reserve(['k']).failed()
    }
    expect(throttle.retryAfter(['k'])).toBeLessThanOrEqual(5)
  })

  it('a success clears only the keys named for it; an abandoned attempt counts nothing', () => {
    const throttle = createLoginThrottle(manualClock(), { maxFailures: 1, windowMs: 1_000, maxLockMs: 5_000 })
    throttle.reserve(['pair', 'addr']).failed()
    expect(throttle.retryAfter(['pair'])).toBeGreaterThan(0)
    const c = createLoginThrottle(manualClock(), { maxFailures: 1, windowMs: 1_000, maxLockMs: 5_000 })
    c.reserve(['x']).abandoned()
    expect(c.retryAfter(['x'])).toBe(0)
    const s = createLoginThrottle(manualClock(), { maxFailures: 2, windowMs: 1_000, maxLockMs: 5_000 })
    s.reserve(['pair', 'addr']).failed()
    s.reserve(['pair', 'addr'], { clearOnSuccess: ['pair'] }).succeeded()
    s.reserve(['pair', 'addr']).failed()
    expect(s.retryAfter(['pair'])).toBe(0) // one failure since the success
    expect(s.retryAfter(['addr'])).toBeGreaterThan(0) // two: the address is not laundered
  })

  it('remembers at most maxKeys keys however many addresses fail', () => {
    const throttle = createLoginThrottle(manualClock(), {
      maxFailures: 5,
      windowMs: 60_000,
      maxLockMs: 60_000,
      maxKeys: 1_000,
    })
    for (let i = 0; i < 50_000; i++) throttle.reserve([`addr:${i}`]).failed()
    expect(throttle.size()).toBeLessThanOrEqual(1_000)
    // The newest keys are still counted.
    throttle.reserve(['addr:49999']).failed()
    expect(throttle.size()).toBeLessThanOrEqual(1_000)
  })

  it('says a key has spent its budget only past maxFailures and while it must wait, not at its parallel limit', () => {
    const clock = manualClock(1_000_000)
    const throttle = createLoginThrottle(clock, { maxFailures: 2, windowMs: 60_000, maxLockMs: 60_000, maxParallel: 1 })
    const first = throttle.reserve(['k'])
    // At its parallel limit within the budget: refused with 429, but not spent.
    expect(throttle.retryAfter(['k'])).toBeGreaterThan(0)
    expect(throttle.spentAndWaiting('k')).toBe(false)
    first.failed()
    throttle.reserve(['k']).failed()
    expect(throttle.spentAndWaiting('k')).toBe(true)
    clock.advance(60_000)
    // The delay over and the failures out of the window: a fresh start.
    expect(throttle.spentAndWaiting('k')).toBe(false)
    expect(throttle.spentAndWaiting('unknown')).toBe(false)
  })
})
