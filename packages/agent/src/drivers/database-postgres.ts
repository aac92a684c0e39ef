import pg from 'pg'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { Exec } from '../exec.ts'
import {
  DB_TIMEOUTS,
  DUMP_TIMEOUT_MS,
  dbFailure,
  identifier,
  parseAdminUrl,
  settingsValues,
  type DbAdmin,
} from './database-types.ts'
import type { TenantLogin, TenantLoginSource } from './tenant-login.ts'
import { postgresRestore } from './database-postgres-restore.ts'
import { restoreFresh } from './database-restore.ts'

const SETTINGS_DDL = `CREATE TABLE IF NOT EXISTS cloud_settings (
  id smallint PRIMARY KEY CHECK (id = 1),
  maintenance boolean NOT NULL DEFAULT false,
  expire_date date NULL,
  turbostart boolean NOT NULL DEFAULT false,
  tutorial boolean NOT NULL DEFAULT false,
  version varchar(64) NULL
)`
const SETTINGS_UPSERT = `INSERT INTO cloud_settings (id, maintenance, expire_date, turbostart, tutorial, version)
VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET maintenance = EXCLUDED.maintenance,
expire_date = EXCLUDED.expire_date, turbostart = EXCLUDED.turbostart, tutorial = EXCLUDED.tutorial, version = EXCLUDED.version`

/**
 * A tenant session's search_path: the tenant's tables in public, pg_temp last (pg_catalog stays implicitly first),
 * so no name in our statements resolves to something the tenant put ahead of what we mean.
 */
const TENANT_SEARCH_PATH = 'public, pg_temp'
/** How long end() may wait for the server before the socket is simply closed (a backend busy in a hung statement). */
const END_GRACE_MS = 2_000

/**
 * PostgreSQL administration through pg; identifiers validated and quoted with escapeIdentifier. Statements on the
 * tenant's objects log in as the tenant (not `SET ROLE`: a tenant's trigger could `RESET ROLE` back to the admin).
 */
export function createPostgresAdmin(o: { url: string; exec: Exec; tenantLogin: TenantLoginSource }): DbAdmin {
  const admin = parseAdminUrl(o.url, 5432)

  async function withClient<T>(
    target: { database?: string; login?: TenantLogin },
    what: string,
    work: (c: pg.Client) => Promise<T>,
    secrets: string[] = [],
  ): Promise<T> {
    const url = new URL(o.url)
    if (target.database) url.pathname = `/${target.database}`
    if (target.login) {
      url.username = encodeURIComponent(target.login.user)
      url.password = encodeURIComponent(target.login.password)
    }
    // Timeouts travel in the startup packet: they outrank an `ALTER ROLE … SET` the tenant may have made.
    const client = new pg.Client({
      connectionString: url.toString(),
      connectionTimeoutMillis: DB_TIMEOUTS.connectMs,
      statement_timeout: DB_TIMEOUTS.statementMs,
      lock_timeout: DB_TIMEOUTS.lockMs,
      idle_in_transaction_session_timeout: DB_TIMEOUTS.statementMs,
      query_timeout: DB_TIMEOUTS.clientMs,
      application_name: 'alfa-agent',
    })
    try {
      await client.connect()
      return await work(client)
    } catch (error) {
      throw dbFailure(error, what, [...secrets, admin.password, target.login?.password ?? ''])
    } finally {
      const ended = client.end().catch(() => undefined)
      const timer = new Promise((resolve) => setTimeout(resolve, END_GRACE_MS).unref())
      if ((await Promise.race([ended.then(() => true), timer])) !== true) client.connection.stream.destroy()
    }
  }

  /** A session in the client's database logged in as the tenant, search_path pinned. */
  async function asTenant<T>(name: string, what: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
    const db = identifier(name)
    const login = await o.tenantLogin(db)
    return withClient(
      { database: db, login },
      what,
      async (c) => {
        await c.query(`SET search_path = ${TENANT_SEARCH_PATH}`)
        return work(c)
      },
      [login.password],
    )
  }

  async function exists(c: pg.Client, name: string) {
    const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    const role = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])
    return { database: (db.rowCount ?? 0) > 0, user: (role.rowCount ?? 0) > 0 }
  }

  /** Discrete flags, never a connection string on argv (it could carry the password); the password via PGPASSWORD. */
  const toolEnv = (password: string) => ({ ...process.env, ...(password ? { PGPASSWORD: password } : {}) })
  const hostFlags = () => ['--no-password', '--host', admin.host, '--port', String(admin.port)]

  /** Reading the whole archive (every data block decompressed) fails on a file cut short anywhere. */
  async function verify(file: string, signal?: AbortSignal): Promise<void> {
    try {
      await o.exec(['pg_restore', '--file', '/dev/null', file], {
        timeoutMs: DUMP_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      })
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      throw new CommandError(wireError('DB_ERROR', `the dump in ${file} is incomplete or unreadable: ${why}`))
    }
  }

  const restore = postgresRestore({
    url: o.url,
    exec: o.exec,
    admin,
    tenantLogin: o.tenantLogin,
    withClient,
    verify,
    toolEnv,
    hostFlags,
  })

  return {
    engine: 'postgresql',
    port: admin.port,
    laravelConnection: 'pgsql',
    exists: (name) => withClient({}, `checking database ${name}`, (c) => exists(c, identifier(name))),

    create: (name, password) =>
      withClient(
        {},
        `creating database ${name}`,
        async (c) => {
          const role = c.escapeIdentifier(identifier(name))
          const before = await exists(c, name)
          // DDL takes no bind parameters: the password goes in through escapeLiteral, and out of every message.
          const verb = before.user ? 'ALTER' : 'CREATE'
          await c.query(
            `${verb} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${c.escapeLiteral(password)}`,
          )
          // A non-superuser admin must be a member of the role to create a database it owns (a no-op for a superuser).
          await c.query(`GRANT ${role} TO CURRENT_USER`)
          if (!before.database) await c.query(`CREATE DATABASE ${role} OWNER ${role} ENCODING 'UTF8'`)
          else await c.query(`ALTER DATABASE ${role} OWNER TO ${role}`)
          // Other clients' roles must not even connect to this database.
          await c.query(`REVOKE ALL ON DATABASE ${role} FROM PUBLIC`)
          return { database: !before.database, user: !before.user }
        },
        [password],
      ),

    drop: (name) =>
      withClient({}, `dropping database ${name}`, async (c) => {
        const role = c.escapeIdentifier(identifier(name))
        const before = await exists(c, name)
        // FORCE ends the app's open connections (the container may still be stopping).
        await c.query(`DROP DATABASE IF EXISTS ${role} WITH (FORCE)`)
        await c.query(`DROP ROLE IF EXISTS ${role}`)
        return before
      }),

    // Made by the tenant's own login, so the table is the tenant's and needs no ALTER … OWNER.
    writeSettings: (name, settings) =>
      asTenant(name, `writing cloud_settings of ${name}`, async (c) => {
        await c.query(SETTINGS_DDL)
        await c.query(SETTINGS_UPSERT, [...settingsValues(settings)])
      }),

    count: (name, sql) =>
      asTenant(name, `counting in ${name}`, async (c) => {
        // The SQL is the profile's (master configuration); read-only on top of the tenant's own rights.
        await c.query('BEGIN READ ONLY')
        try {
          const result = await c.query({ text: sql, rowMode: 'array' })
          return Number((result.rows as unknown[][])[0]?.[0] ?? 0)
        } finally {
          await c.query('ROLLBACK')
        }
      }),

    async dump(name, file, signal) {
      const db = identifier(name)
      // Custom format: only pg_restore reads it, and pg_restore runs no psql meta-commands (CVE-2025-8714/-8715).
      const argv = ['pg_dump', ...hostFlags(), '--username', admin.user, '--format', 'custom']
      argv.push('--file', file, '--dbname', db)
      const opts = { env: toolEnv(admin.password), redact: [admin.password], timeoutMs: DUMP_TIMEOUT_MS }
      await o.exec(argv, { ...opts, ...(signal ? { signal } : {}) })
    },

    verify,

    ...restore,
    restore: (name, file, opts) => restoreFresh(restore, name, file, opts),
  }
}
