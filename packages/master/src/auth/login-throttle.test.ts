import { describe, expect, it } from 'vitest'
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

describe('login-throttle', () => {
  it('locks a key after maxFailures in the window, with a growing delay', () => {
    const clock = manualClock(1_000_000)
    const throttle = createLoginThrottle(clock, { maxFailures: 3, windowMs: 60_000, maxLockMs: 600_000 })
    for (let i = 0; i < 2; i++) throttle.fail(['user:a'])
    expect(throttle.retryAfter(['user:a'])).toBe(0)
    throttle.fail(['user:a'])
    const first = throttle.retryAfter(['user:a'])
    expect(first).toBeGreaterThan(0)
    clock.advance(first * 1000)
    throttle.fail(['user:a'])
    expect(throttle.retryAfter(['user:a'])).toBeGreaterThan(first)
    expect(throttle.retryAfter(['user:b'])).toBe(0)
  })

  it('forgets failures outside the window and caps the lock-out', () => {
    const clock = manualClock()
    const throttle = createLoginThrottle(clock, { maxFailures: 2, windowMs: 1_000, maxLockMs: 5_000 })
    throttle.fail(['k'])
    clock.advance(2_000)
    throttle.fail(['k'])
    expect(throttle.retryAfter(['k'])).toBe(0)
    for (let i = 0; i < 30; i++) throttle.fail(['k'])
    expect(throttle.retryAfter(['k'])).toBeLessThanOrEqual(5)
  })

  it('a success clears the key', () => {
    const throttle = createLoginThrottle(manualClock(), { maxFailures: 1, windowMs: 1_000, maxLockMs: 5_000 })
    throttle.fail(['user:x'])
    expect(throttle.retryAfter(['user:x'])).toBeGreaterThan(0)
    throttle.succeed('user:x')
    expect(throttle.retryAfter(['user:x'])).toBe(0)
  })
})
