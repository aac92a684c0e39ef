import { describe, expect, it } from 'vitest'
import { dueThreshold, parseThresholds, thresholdDays } from './reminder-plan.ts'
import { isQuiet, parseQuietHours } from './quiet-hours.ts'

const T = [14, 7, 1, 0]

describe('dueThreshold', () => {
  it('does nothing before the first threshold and after the date', () => {
    expect(dueThreshold(15, T, [])).toBeUndefined()
    expect(dueThreshold(-1, T, [])).toBeUndefined()
  })
  it('picks the most urgent threshold reached', () => {
    expect(dueThreshold(14, T, [])).toBe(14)
    expect(dueThreshold(9, T, [14])).toBeUndefined()
    expect(dueThreshold(5, T, [])).toBe(7)
    expect(dueThreshold(0, T, [14, 7])).toBe(0)
  })
  it('never sends a less urgent one after a more urgent one (a clock that went back)', () => {
    expect(dueThreshold(10, T, [7])).toBeUndefined()
    expect(dueThreshold(1, T, [7])).toBe(1)
  })
})

describe('reminder settings', () => {
  it('parses days and labels', () => {
    expect(parseThresholds('0, 7,14,7')).toEqual([14, 7, 0])
    expect(parseThresholds('')).toBeUndefined()
    expect(() => parseThresholds('7,x')).toThrow(/whole days/)
    expect(thresholdDays('14d')).toBe(14)
    expect(thresholdDays('soon')).toBeUndefined()
  })
  it('reads quiet hours on the wall clock of the zone, across midnight', () => {
    const q = parseQuietHours('22:00-08:00')!
    const at = (iso: string) => isQuiet(q, new Date(iso), 'Europe/Moscow')
    expect(at('2027-03-05T19:00:00Z')).toBe(true) // 22:00 MSK
    expect(at('2027-03-05T18:59:00Z')).toBe(false)
    expect(at('2027-03-06T04:59:00Z')).toBe(true) // 07:59 MSK
    expect(at('2027-03-06T05:00:00Z')).toBe(false)
    expect(isQuiet(parseQuietHours('13:00-14:00'), new Date('2027-03-06T10:30:00Z'), 'Europe/Moscow')).toBe(true)
    expect(isQuiet(undefined, new Date(), 'UTC')).toBe(false)
    expect(() => parseQuietHours('25:00-08:00')).toThrow(/HH:MM/)
    expect(() => parseQuietHours('22:00')).toThrow(/HH:MM-HH:MM/)
  })
})
