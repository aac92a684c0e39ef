import { describe, expect, it } from 'vitest'
import { containerNameForSlug, dbIdentifierSchema, dbNameForSlug } from './names.ts'

describe('dbNameForSlug', () => {
  it('does prefix alfa_ and turn "-" into "_"', () => {
    expect(dbNameForSlug('lab-42')).toBe('alfa_lab_42')
    expect(dbIdentifierSchema.safeParse(dbNameForSlug('a'.repeat(40))).success).toBe(true)
  })

  it('does refuse an invalid slug instead of naming a database after it', () => {
    expect(() => dbNameForSlug('a; drop database x')).toThrow()
  })
})

describe('containerNameForSlug', () => {
  it('does prefix alfa-', () => {
    expect(containerNameForSlug('lab-42')).toBe('alfa-lab-42')
  })

  it('does refuse an invalid slug', () => {
    expect(() => containerNameForSlug('--name=x')).toThrow()
  })
})
