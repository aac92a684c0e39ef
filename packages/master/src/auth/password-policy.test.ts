import { describe, expect, it } from 'vitest'
import { passwordWeakness } from './password-policy.ts'

describe('password-policy', () => {
  it('accepts mixed passwords of 12+ characters and long passphrases', () => {
    expect(passwordWeakness('Tr0ub4dor&3x')).toBeUndefined()
    expect(passwordWeakness('correct horse battery staple')).toBeUndefined()
  })

  it.each([
    ['short', 'Ab1!'],
    ['one class', 'abcdefghijkl'],
    ['two classes', 'abcdefgh1234'],
    ['repeats', 'aA1!aA1!aA1!aA1!'],
    ['control characters', 'Abcdefgh123\n'],
    ['contains the login', 'admin-Secret-123'],
    ['too long', 'aA1!'.repeat(100)],
  ])('refuses %s', (_why, pw) => {
    expect(passwordWeakness(pw, 'admin')).toMatch(/must/)
  })
})
