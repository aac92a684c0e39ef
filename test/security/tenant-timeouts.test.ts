// Statement timeouts on the agent's database sessions: a tenant that holds a lock in an open transaction makes
// the agent's settings write, users count or restore fail in bounded time (measured and printed), never wait
// forever, and hung counts leave no connection behind.
import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs'
import { dbNameForSlug, type ClientCreatePayload, type DbEngine } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAdminFor } from '../../packages/agent/src/drivers/database.ts'
import {
  allLines,
  FIXTURE_PROFILE,
  startAgentClientEnv,
  type AgentClientEnv,
  type Run,
} from '../agent-client/harness.ts'
import { waitUntil } from '../support/process.ts'
import { mariadbAs, pgAs } from './tenant-access.ts'
import { recordCase, reportSecurityCases } from './report.ts'

let env: AgentClientEnv
reportSecurityCases()
/** Far beyond the agent's lock timeout (5 s) and statement timeout (30 s): past it, the agent is waiting forever. */
const FOREVER_MS = 60_000
const figures: { what: string; ms: number }[] = []

beforeAll(async () => {
  env = await startAgentClientEnv()
})
afterAll(async () => {
  console.table(figures)
  await env?.stop()
})

async function createClient(slug: string, dbEngine: DbEngine): Promise<ClientCreatePayload> {
  const p = env.createPayload(slug, { dbEngine })
  const created = await env.run('client.create', p)
  expect(created.result, allLines(created)).toMatchObject({ ok: true })
  return p
}

/** Runs `work`, recording how long it took; fails the test instead of hanging when it outlives FOREVER_MS. */
async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const forever = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${FOREVER_MS} ms`)), FOREVER_MS)
  })
  try {
    return await Promise.race([work(), forever])
  } finally {
    clearTimeout(timer)
    figures.push({ what, ms: Date.now() - started })
  }
}
const configure = (p: ClientCreatePayload) =>
  env.run('client.configure', {
    clientId: p.clientId,
    slug: p.slug,
    dbEngine: p.dbEngine,
    settings: { ...p.settings, maintenance: true },
    expired: false,
  })
const usersCount = (p: ClientCreatePayload) =>
  env.run('client.app', { slug: p.slug, action: 'usersCount', profile: FIXTURE_PROFILE, dbEngine: p.dbEngine })
const failure = (r: Run) => r.result as { ok: boolean; error?: { code: string; message: string } }

describe('PostgreSQL', () => {
  it('settings and counts behind a tenant lock fail with a lock timeout; no connection is left', async () => {
    const p = await createClient('to-pg', 'postgresql')
    const tenant = await pgAs(env, p.slug, 'tenant')
    const admin = await pgAs(env, p.slug, 'admin')
    try {
      await tenant.query('BEGIN')
      await tenant.query('LOCK TABLE cloud_settings, users IN ACCESS EXCLUSIVE MODE')
      const settings = failure(await timed('PostgreSQL configure behind the lock', () => configure(p)))
      expect(settings).toMatchObject({ ok: false, error: { code: 'DB_ERROR' } })
      expect(settings.error?.message).toMatch(/lock timeout/)
      const counts = await timed('PostgreSQL 5 parallel counts behind the lock', () =>
        Promise.all([1, 2, 3, 4, 5].map(() => usersCount(p))),
      )
      expect(counts.map((c) => failure(c).error?.message)).toEqual(
        counts.map(() => expect.stringMatching(/lock timeout/)),
      )
      const agentSessions = async () =>
        Number(
          (await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'alfa-agent'"))
            .rows[0].n,
        )
      await waitUntil(async () => (await agentSessions()) === 0, { timeoutMs: 10_000, what: 'agent sessions gone' })
      recordCase('PostgreSQL: configure and counts behind a tenant lock fail in bounded time, no session left', true)
      await tenant.query('ROLLBACK')
      expect(failure(await configure(p))).toMatchObject({ ok: true })
    } finally {
      await tenant.end()
      await admin.end()
    }
  })
})

describe('MariaDB', () => {
  it('settings, counts and a restore behind tenant locks fail with a lock wait timeout', async () => {
    const p = await createClient('to-maria', 'mariadb')
    const user = dbNameForSlug(p.slug)
    const rowLock = await mariadbAs(env, p.slug, 'tenant')
    const tableLock = await mariadbAs(env, p.slug, 'tenant')
    const admin = await mariadbAs(env, p.slug, 'admin')
    try {
      await rowLock.query('START TRANSACTION')
      await rowLock.query('SELECT * FROM cloud_settings FOR UPDATE')
      const settings = failure(await timed('MariaDB configure behind a row lock', () => configure(p)))
      expect(settings.error?.message).toMatch(/Lock wait timeout/)
      await rowLock.query('ROLLBACK')

      await tableLock.query('LOCK TABLES users WRITE')
      const counts = await timed('MariaDB 5 parallel counts behind LOCK TABLES', () =>
        Promise.all([1, 2, 3, 4, 5].map(() => usersCount(p))),
      )
      expect(counts.map((c) => failure(c).error?.message)).toEqual(
        counts.map(() => expect.stringMatching(/Lock wait timeout/)),
      )
      // From the host: the agent's sessions and the test's two locking ones (the app connects from its network).
      const fromHost = async () => {
        const [rows] = await admin.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND HOST LIKE '127.0.0.1:%'",
          [user],
        )
        return Number((rows as { n: number }[])[0]?.n)
      }
      await waitUntil(async () => (await fromHost()) === 2, { timeoutMs: 10_000, what: 'agent sessions gone' })
      await tableLock.query('UNLOCK TABLES')

      // The admin's DDL: a restore's DROP TABLE waits on the metadata lock of a tenant's open transaction.
      const db = dbAdminFor('mariadb', env.deps)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alfa-sec-timeouts-'))
      const file = path.join(dir, 'dump.sql')
      fs.writeFileSync(file, '', { mode: 0o600 })
      await db.dump(user, file)
      await rowLock.query('START TRANSACTION')
      await rowLock.query('SELECT COUNT(*) FROM users')
      const restore = timed('MariaDB restore (admin DROP TABLE) behind a metadata lock', () => db.restore(user, file))
      await expect(restore).rejects.toThrow(/Lock wait timeout/)
      await rowLock.query('ROLLBACK')
      fs.rmSync(dir, { recursive: true, force: true })
      recordCase('MariaDB: configure, counts and admin DDL behind tenant locks fail in bounded time', true)
    } finally {
      await Promise.all([rowLock.end(), tableLock.end(), admin.end()])
    }
  })
})
