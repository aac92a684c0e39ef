import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { Exec } from '../exec.ts'
import { DB_TIMEOUTS, DUMP_TIMEOUT_MS, identifier } from './database-types.ts'
import { isAsideOf, type RestorePrimitives } from './database-restore.ts'
import { rowCounts } from './row-counts.ts'
import type { TenantLogin, TenantLoginSource } from './tenant-login.ts'

type WithClient = <T>(
  target: { database?: string; login?: TenantLogin },
  what: string,
  work: (c: pg.Client) => Promise<T>,
  secrets?: string[],
) => Promise<T>

/** A backend just terminated may still hold the database for a moment: the rename is retried this often. */
const SWAP_ATTEMPTS = 10
const SWAP_RETRY_MS = 200

/**
 * PostgreSQL's restore into a fresh database: made as create() makes a client's (owned by the client's role,
 * closed to PUBLIC), loaded by pg_restore logged in as the tenant, and swapped in by renaming both databases in one
 * transaction (ALTER DATABASE … RENAME is transactional) once every connection to them is ended.
 */
export function postgresRestore(o: {
  url: string
  exec: Exec
  admin: { host: string; port: number; password: string }
  tenantLogin: TenantLoginSource
  withClient: WithClient
  verify: (file: string, signal?: AbortSignal) => Promise<void>
  toolEnv: (password: string) => NodeJS.ProcessEnv
  hostFlags: () => string[]
}): RestorePrimitives {
  const { withClient } = o
  return {
    rowCounts: (name) => rowCounts('postgresql', { dbPostgresUrl: o.url }, name),

    async loadInto(name, scratch, file, signal) {
      const db = identifier(name)
      identifier(scratch)
      // The login and a readable archive first: without them nothing is made.
      const login = await o.tenantLogin(db)
      await o.verify(file, signal)
      await withClient({}, `making ${scratch} for the restore`, async (c) => {
        const role = c.escapeIdentifier(db)
        await c.query(`CREATE DATABASE ${c.escapeIdentifier(scratch)} OWNER ${role} ENCODING 'UTF8'`)
        await c.query(`REVOKE ALL ON DATABASE ${c.escapeIdentifier(scratch)} FROM PUBLIC`)
      })
      // pg_restore (no meta-commands), logged in as the tenant: a CHECK or a default calling the tenant's function
      // runs with the tenant's rights while rows are loaded; everything made is the tenant's (--no-owner).
      const argv = ['pg_restore', ...o.hostFlags(), '--username', login.user, '--dbname', scratch]
      argv.push('--no-owner', '--single-transaction', '--exit-on-error', file)
      const env = { ...o.toolEnv(login.password), PGOPTIONS: `-c lock_timeout=${DB_TIMEOUTS.lockMs}` }
      const redact = [o.admin.password, login.password]
      await o.exec(argv, { env, redact, timeoutMs: DUMP_TIMEOUT_MS, ...(signal ? { signal } : {}) })
    },

    swapIn: (name, scratch, trash) =>
      withClient({}, `swapping ${scratch} in as ${name}`, async (c) => {
        const db = identifier(name)
        for (const n of [scratch, trash]) identifier(n)
        for (let attempt = 1; ; attempt++) {
          // The app is stopped (the switch froze writes); whatever is still connected is ended, or no rename.
          await c.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
            [[db, scratch]],
          )
          try {
            await c.query('BEGIN')
            await c.query(`ALTER DATABASE ${c.escapeIdentifier(db)} RENAME TO ${c.escapeIdentifier(trash)}`)
            await c.query(`ALTER DATABASE ${c.escapeIdentifier(scratch)} RENAME TO ${c.escapeIdentifier(db)}`)
            await c.query('COMMIT')
            return { connectionsEnded: true }
          } catch (error) {
            await c.query('ROLLBACK').catch(() => undefined)
            // 55006 object_in_use: a backend reconnected or has not exited yet.
            if ((error as { code?: unknown }).code !== '55006' || attempt >= SWAP_ATTEMPTS) throw error
            await sleep(SWAP_RETRY_MS)
          }
        }
      }),

    asideOf: (name) =>
      withClient({}, `listing the restore databases of ${name}`, async (c) => {
        const db = identifier(name)
        const { rows } = await c.query<{ n: string }>(
          'SELECT datname AS n FROM pg_database WHERE starts_with(datname, $1)',
          [`${db}__`],
        )
        return rows.map((r) => r.n).filter((n) => isAsideOf(db, n))
      }),

    dropAside: (name, aside) =>
      withClient({}, `dropping ${aside}`, async (c) => {
        const db = identifier(name)
        if (!isAsideOf(db, identifier(aside)))
          throw new CommandError(wireError('INTERNAL', `${aside} is not a restore database of ${db}: not dropped`))
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(aside)} WITH (FORCE)`)
      }),
  }
}
