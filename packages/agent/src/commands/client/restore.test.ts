import { describe, expect, it } from 'vitest'
import { countDifferences } from './restore.ts'

describe('countDifferences', () => {
  it('names every table whose rows differ, is missing or is extra', () => {
    expect(countDifferences({ a: 1, b: 2 }, { a: 1, b: 2 })).toEqual([])
    expect(countDifferences({ a: 1, b: 2, c: 3 }, { a: 1, b: 1, d: 0 })).toEqual([
      'b: 1/2',
      'c: missing/3',
      'd: 0/none',
    ])
  })
})
