import { describe, expect, it } from 'vitest'
import { isExpired, today } from './expiry-calendar.ts'

const moscow = { timeZone: 'Europe/Moscow' }

describe('expiry-calendar', () => {
  it('counts days in the customers\u2019 time zone', () => {
    // 22:30 UTC on the 1st is already the 2nd in Moscow (UTC+3).
    expect(today(new Date('2026-03-01T22:30:00Z'), moscow)).toBe('2026-03-02')
    expect(today(new Date('2026-03-01T20:30:00Z'), moscow)).toBe('2026-03-01')
  })

  it('blocks from the day after the expire date, never on it', () => {
    const date = new Date('2026-03-01T00:00:00Z')
    expect(isExpired(date, new Date('2026-03-01T20:00:00Z'), moscow)).toBe(false)
    expect(isExpired(date, new Date('2026-03-01T21:30:00Z'), moscow)).toBe(true)
    expect(isExpired(null, new Date(), moscow)).toBe(false)
  })
})
