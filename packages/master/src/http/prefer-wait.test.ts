import { describe, expect, it } from 'vitest'
import { MAX_PREFER_WAIT_S, preferredWait } from './prefer-wait.ts'

describe('preferredWait', () => {
  it('reads wait=<seconds> alone, among other preferences, quoted and in any case', () => {
    expect(preferredWait('wait=10')).toBe(10)
    expect(preferredWait('respond-async, wait=5')).toBe(5)
    expect(preferredWait('WAIT = "7"')).toBe(7)
    expect(preferredWait('return=minimal,wait=0')).toBe(0)
  })

  it('caps a long wait', () => {
    expect(preferredWait('wait=3600')).toBe(MAX_PREFER_WAIT_S)
  })

  it('ignores what it cannot honour instead of failing', () => {
    for (const header of [
      undefined,
      '',
      'respond-async',
      'wait',
      'wait=',
      'wait=-1',
      'wait=1.5',
      'wait=abc',
      'waiting=3',
    ])
      expect(preferredWait(header), String(header)).toBeUndefined()
    expect(preferredWait('wait=1234567890123')).toBeUndefined()
  })

  it('takes the first wait', () => {
    expect(preferredWait('wait=2, wait=9')).toBe(2)
    expect(preferredWait('wait=x, wait=9')).toBeUndefined()
  })
})
