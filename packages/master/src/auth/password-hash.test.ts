import { describe, expect, it } from 'vitest'
import { hashParamsOf, hashPassword, OWASP_SCRYPT, verifyPassword } from './password-hash.ts'

const FAST = { N: 2 ** 10, r: 8, p: 1 }

describe('password-hash', () => {
  it('uses the OWASP scrypt cost by default and verifies the right password only', async () => {
    const stored = await hashPassword('correct horse battery staple')
    expect(hashParamsOf(stored)).toEqual(OWASP_SCRYPT)
    expect(stored).not.toContain('correct horse')
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true)
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false)
  })

  it('salts: the same password hashes differently each time', async () => {
    const a = await hashPassword('S3cret-password!', FAST)
    const b = await hashPassword('S3cret-password!', FAST)
    expect(a).not.toBe(b)
    expect(await verifyPassword('S3cret-password!', a)).toBe(true)
    expect(await verifyPassword('S3cret-password!', b)).toBe(true)
  })

  it('never verifies against a malformed hash', async () => {
    for (const bad of ['', 'plain', 'scrypt$1$2$3$abc', 'bcrypt$1$2$3$a$b', 'scrypt$x$8$1$AAAA$AAAA']) {
      expect(await verifyPassword('anything', bad)).toBe(false)
    }
  })
})
