import { describe, expect, it } from 'vitest'
import { median, percentile } from './stats.ts'

describe('median', () => {
  it('is the middle value of an odd count, whatever the order', () => {
    expect(median([5, 1, 3], 'lower')).toBe(3)
    expect(median([5, 1, 3], 'upper')).toBe(3)
  })

  it('is the lower or the upper middle value of an even count, as asked, never their mean', () => {
    expect(median([4, 1, 3, 2], 'lower')).toBe(2)
    expect(median([4, 1, 3, 2], 'upper')).toBe(3)
  })

  it("gives 'lower' as percentile 50 by nearest rank, and leaves its input as it was", () => {
    const xs = [9, 2, 7, 4, 1, 8]
    expect(median(xs, 'lower')).toBe(
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      ),
    )
    expect(xs).toEqual([9, 2, 7, 4, 1, 8])
  })

  it('is NaN for no values', () => {
    expect(median([], 'upper')).toBeNaN()
  })
})
