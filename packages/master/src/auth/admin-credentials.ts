import { hash, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { Invalid } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { hashPassword, OWASP_SCRYPT, verifyPassword, type HashParams } from './password-hash.ts'
import type { Attempt } from './login-throttle.ts'
import { passwordWeakness } from './password-policy.ts'

export interface AdminCredentialsDeps {
  prisma: PrismaClient
  clock: Clock
  logger: Logger
  hashParams?: HashParams
  /** How long a successful verification is remembered, so scrypt does not run on every request. */
  cacheTtlMs?: number
}

/**
 * The Mol admin's API credential: one account, stored as a slow salted hash. Successful checks are cached briefly
 * under a keyed digest (never the password itself); a rotation empties the cache so the old password stops at once.
 */
export function createAdminCredentials(deps: AdminCredentialsDeps) {
  const { prisma, clock, logger } = deps
  const params = deps.hashParams ?? OWASP_SCRYPT
  const ttl = deps.cacheTtlMs ?? 5 * 60_000
  const cacheKey = randomBytes(32).toString('base64')
  const cache = new Map<string, number>()
  const pending = new Map<string, Promise<boolean>>()
  // One-shot hash (a Hash object per request cost several times more, on every API request); the login's length
  // keeps every (login, password) pair's text apart, a NUL in either included.
  const digest = (user: string, password: string) =>
    hash('sha256', `${cacheKey}${user.length}:${user}\0${password}`, 'base64')

  return {
    /**
     * On first start, takes the credential from the environment or generates one and returns it so the caller can
     * print it once. Later starts keep the stored credential (the environment no longer overrides a rotation).
     */
    async bootstrap(env: {
      user?: string
      password?: string
    }): Promise<{ created: boolean; user: string; generatedPassword?: string }> {
      const existing = await prisma.adminCredential.findFirst({ orderBy: { createdAt: 'asc' } })
      if (existing) return { created: false, user: existing.username }
      const user = env.user ?? 'admin'
      const generated = env.password ? undefined : randomBytes(18).toString('base64url')
      const password = env.password ?? generated!
      await prisma.adminCredential.create({
        data: { username: user, passwordHash: await hashPassword(password, params) },
      })
      logger.info({ user, generated: Boolean(generated) }, 'admin credential created')
      return { created: true, user, ...(generated ? { generatedPassword: generated } : {}) }
    },

    /**
     * True when the pair matches the stored credential. `reserve` is called right before a password hash would run
     * (not for a cached success, nor for a check already running for the same pair), so a throttle can refuse the
     * attempt before it costs scrypt; the attempt it returns is decided by the outcome.
     */
    async verify(user: string, password: string, reserve?: () => Attempt): Promise<boolean> {
      const key = digest(user, password)
      const now = clock.now().getTime()
      const until = cache.get(key)
      if (until !== undefined && until > now) return true
      // Requests arriving together with the same credentials share one scrypt run (each takes ~128 MiB and ~0.3 s).
      let check = pending.get(key)
      if (!check) {
        const attempt = reserve?.()
        check = (async () => {
          const row = await prisma.adminCredential.findUnique({ where: { username: user } })
          // Hash even for an unknown user so the answer takes the same time and does not reveal which logins exist.
          const ok = row
            ? await verifyPassword(password, row.passwordHash)
            : (await hashPassword(password, params), false)
          if (ok) cache.set(key, clock.now().getTime() + ttl)
          return ok
        })()
          .then(
            (ok) => {
              if (ok) attempt?.succeeded()
              else attempt?.failed()
              return ok
            },
            (err: unknown) => {
              attempt?.abandoned()
              throw err
            },
          )
          .finally(() => pending.delete(key))
        pending.set(key, check)
      }
      return check
    },

    /** Replaces the credential (optionally renaming the login); the old password stops working immediately. */
    async rotate(opts: {
      currentUser: string
      newUser?: string
      password: string
    }): Promise<{ username: string; rotatedAt: Date }> {
      const username = opts.newUser ?? opts.currentUser
      const weakness = passwordWeakness(opts.password, username)
      if (weakness)
        throw new Invalid([
          { pointer: '/data/attributes/password', detail: `password ${weakness}`, code: 'weak_password' },
        ])
      const passwordHash = await hashPassword(opts.password, params)
      const rotatedAt = clock.now()
      await prisma.$transaction([
        prisma.adminCredential.deleteMany({}),
        prisma.adminCredential.create({ data: { username, passwordHash, rotatedAt } }),
      ])
      cache.clear()
      logger.info({ user: username }, 'admin credential rotated')
      return { username, rotatedAt }
    },
  }
}

export type AdminCredentials = ReturnType<typeof createAdminCredentials>
