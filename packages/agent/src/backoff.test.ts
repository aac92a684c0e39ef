import { describe, expect, it } from 'vitest'
import { createBackoff, fullJitterDelay } from './backoff.ts'

describe('backoff', () => {
  it('draws every delay between 0 and the current ceiling', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt)
      for (let i = 0; i < 200; i++) {
        const delay = fullJitterDelay(attempt, 500, 30_000)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThan(ceiling)
      }
    }
  })

  it('doubles the ceiling per attempt and caps it at the maximum', () => {
    const top = () => 0.999999
    const backoff = createBackoff({ baseMs: 100, maxMs: 1000, random: top })
    const delays = Array.from({ length: 7 }, () => backoff.next())
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999])
  })

  it('spreads delays instead of repeating one value (full jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => fullJitterDelay(10, 500, 30_000)))
    expect(delays.size).toBeGreaterThan(40)
  })

  it('starts over after reset and retries near the cap when asked', () => {
    const backoff = createBackoff({ baseMs: 100, maxMs: 1000, random: () => 0.5 })
    backoff.next()
    backoff.next()
    backoff.reset()
    expect(backoff.next()).toBe(50)
    expect(backoff.atCap()).toBe(750)
  })
})
