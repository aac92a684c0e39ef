import pino from 'pino'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { createAdminCredentials } from './admin-credentials.ts'
import { hashPassword, type HashParams } from './password-hash.ts'

// A small scrypt cost keeps the test fast; the stored hash carries it, as a real one carries OWASP's.
const FAST: HashParams = { N: 1024, r: 8, p: 1 }
const PASSWORD = 'right horse battery staple'
let stored: string
beforeAll(async () => {
  stored = await hashPassword(PASSWORD, FAST)
})

/** The credential table as the verifier reads it, counting the reads: each uncached check reads once, then hashes. */
function setup(cacheTtlMs = 60_000, hash = () => stored) {
  let reads = 0
  let now = 1_000_000
  const prisma = {
    adminCredential: {
      findUnique: async ({ where }: { where: { username: string } }) => {
        reads++
        return where.username === 'admin' ? { username: 'admin', passwordHash: hash() } : null
      },
    },
  } as unknown as PrismaClient
  const credentials = createAdminCredentials({
    prisma,
    clock: { now: () => new Date(now) },
    logger: pino({ level: 'silent' }),
    hashParams: FAST,
    cacheTtlMs,
  })
  return { credentials, reads: () => reads, advance: (ms: number) => (now += ms) }
}

/** A throttle's reserve that only counts how often a hash was about to run. */
function countingReserve() {
  let count = 0
  const reserve = () => {
    count++
    return { failed: () => undefined, succeeded: () => undefined, abandoned: () => undefined }
  }
  return { reserve, reserved: () => count }
}

describe('admin credentials (SECURITY.md: cache successful verifications briefly)', () => {
  it('runs the hash once for repeated correct logins within the cache time, and again after it', async () => {
    const s = setup(60_000)
    expect(await s.credentials.verify('admin', PASSWORD)).toBe(true)
    expect(await s.credentials.verify('admin', PASSWORD)).toBe(true)
    expect(s.reads()).toBe(1)
    s.advance(60_001)
    expect(await s.credentials.verify('admin', PASSWORD)).toBe(true)
    expect(s.reads()).toBe(2)
  })

  it('never caches a failure: every wrong password is hashed and refused', async () => {
    const s = setup()
    for (let i = 0; i < 3; i++) expect(await s.credentials.verify('admin', 'wrong password')).toBe(false)
    expect(s.reads()).toBe(3)
    // A cached success for the right password says nothing about another one.
    expect(await s.credentials.verify('admin', PASSWORD)).toBe(true)
    expect(await s.credentials.verify('admin', `${PASSWORD} `)).toBe(false)
  })

  it('shares one hash among concurrent checks of the same pair, and reserves one throttle attempt for them', async () => {
    const s = setup()
    const { reserve, reserved } = countingReserve()
    const results = await Promise.all(Array.from({ length: 5 }, () => s.credentials.verify('admin', PASSWORD, reserve)))
    expect(results).toEqual([true, true, true, true, true])
    expect(s.reads()).toBe(1)
    expect(reserved()).toBe(1)
  })

  it('refuses an unknown login through the same reserved, hashed path a known one takes', async () => {
    const s = setup()
    const { reserve, reserved } = countingReserve()
    expect(await s.credentials.verify('nobody', PASSWORD, reserve)).toBe(false)
    expect(reserved()).toBe(1)
  })

  it('keeps the cached pair apart from another split of the same text (a NUL in the password)', async () => {
    const withNul = await hashPassword('first\0second', FAST)
    const s = setup(60_000, () => withNul)
    expect(await s.credentials.verify('admin', 'first\0second')).toBe(true)
    // Joined with a NUL between login and password, both pairs read "admin\0first\0second".
    expect(await s.credentials.verify('admin\0first', 'second')).toBe(false)
    expect(s.reads()).toBe(2)
  })
})
