import { describe, expect, it } from 'vitest'
import { compareCounts, isAsideOf } from './database-restore.ts'

describe('isAsideOf', () => {
  it('takes only the restore databases of that very client', () => {
    expect(isAsideOf('alfa_lab', 'alfa_lab__restore_123')).toBe(true)
    expect(isAsideOf('alfa_lab', 'alfa_lab__old_9')).toBe(true)
    // Another client's database: slugs have no "--", so no client database holds "__".
    expect(isAsideOf('alfa_lab', 'alfa_lab_restore_1')).toBe(false)
    expect(isAsideOf('alfa_lab', 'alfa_lab')).toBe(false)
    expect(isAsideOf('alfa_lab', 'alfa_lab__restore_')).toBe(false)
    expect(isAsideOf('alfa_lab', 'alfa_lab__restore_1_x')).toBe(false)
    expect(isAsideOf('alfa_la', 'alfa_lab__restore_1')).toBe(false)
  })
})

describe('compareCounts', () => {
  it('fails a copy short of the snapshot and reports more rows without failing', () => {
    const snapshot = { a: 10, b: 5 }
    expect(compareCounts({ a: 10, b: 5 }, snapshot, snapshot)).toEqual({ short: [], extra: [] })
    expect(compareCounts({ a: 9, b: 5 }, snapshot, snapshot).short).toEqual(['a: 9 rows (snapshot 10)'])
    expect(compareCounts({ a: 10 }, snapshot, snapshot).short).toEqual(['b: absent (snapshot 5)'])
    expect(compareCounts({ a: 12, b: 5, c: 1 }, snapshot, snapshot)).toEqual({
      short: [],
      extra: ['c: not in the snapshot (1 rows)', 'a: 12 rows (snapshot 10)'],
    })
  })
  it('takes a range when rows were written while the snapshot was taken', () => {
    expect(compareCounts({ a: 12 }, { a: 10 }, { a: 14 })).toEqual({ short: [], extra: [] })
    expect(compareCounts({ a: 9 }, { a: 10 }, { a: 14 }).short).toEqual(['a: 9 rows (snapshot 10–14)'])
  })
})
