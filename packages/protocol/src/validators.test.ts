import { describe, expect, it } from 'vitest'
import { CASES, HOSTILE } from './validators.cases.ts'
import { isGitUrl, isIsoDate, isPort, isSlug, slugSchema } from './validators.ts'

describe('validators', () => {
  describe.each(CASES)('$name', ({ schema, accepts, rejects }) => {
    it.each(accepts.map((value) => [JSON.stringify(value), value]))('accepts %s', (_label, value) => {
      expect(schema.safeParse(value).success).toBe(true)
    })

    it.each(rejects.map((value) => [JSON.stringify(value), value]))('rejects %s', (_label, value) => {
      expect(schema.safeParse(value).success).toBe(false)
    })

    it.each(HOSTILE.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
      'rejects hostile %s',
      (_label, value) => {
        expect(schema.safeParse(value).success).toBe(false)
      },
    )

    it('rejects values that are not strings or numbers', () => {
      for (const value of [undefined, null, {}, [], true]) expect(schema.safeParse(value).success).toBe(false)
    })
  })

  it('does give one readable message per failure, without echoing the input', () => {
    const result = slugSchema.safeParse('a; rm -rf /')
    expect(result.success).toBe(false)
    expect(result.error?.issues).toHaveLength(1)
    expect(result.error?.issues[0]?.message).not.toContain('rm -rf')
  })

  it('does derive guards from the schemas', () => {
    expect(isSlug('acme')).toBe(true)
    expect(isSlug('$(id)')).toBe(false)
    expect(isPort(443)).toBe(true)
    expect(isIsoDate('2025-02-30')).toBe(false)
    expect(isGitUrl('file:///srv/git/mol.git')).toBe(false)
    expect(isGitUrl('file:///srv/git/mol.git', { allowFile: true })).toBe(true)
  })
})
