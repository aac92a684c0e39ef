import fs from 'node:fs/promises'
import type { Writable } from 'node:stream'
import mysql from 'mysql2/promise'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { Exec } from '../exec.ts'
import { execPipeline, type ExecPipeline } from '../exec-pipeline.ts'
import {
  DB_TIMEOUTS,
  DUMP_TIMEOUT_MS,
  ZSTD_LEVEL,
  dbFailure,
  identifier,
  parseAdminUrl,
  settingsValues,
  type DbAdmin,
} from './database-types.ts'
import type { TenantLogin, TenantLoginSource } from './tenant-login.ts'
import type { TenantSessions } from './tenant-sessions.ts'
import { mariadbRestore } from './database-mariadb-restore.ts'
import { restoreFresh, swapFresh } from './database-restore.ts'
import { grantPattern } from './mariadb-grant.ts'
import { mariadbTablespaces } from './database-mariadb-tablespaces.ts'

/** Client users may connect from any container address on the bridge; the password is their guard. */
const USER_HOST = '%'

const SETTINGS_DDL = `CREATE TABLE IF NOT EXISTS cloud_settings (
  id TINYINT UNSIGNED NOT NULL PRIMARY KEY CHECK (id = 1),
  maintenance BOOLEAN NOT NULL DEFAULT FALSE,
  expire_date DATE NULL,
  turbostart BOOLEAN NOT NULL DEFAULT FALSE,
  tutorial BOOLEAN NOT NULL DEFAULT FALSE,
  version VARCHAR(64) NULL
)`
const SETTINGS_UPSERT = `INSERT INTO cloud_settings (id, maintenance, expire_date, turbostart, tutorial, version)
VALUES (1, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE maintenance = VALUES(maintenance), expire_date = VALUES(expire_date),
turbostart = VALUES(turbostart), tutorial = VALUES(tutorial), version = VALUES(version)`

/** mysqldump's last line ("-- Dump completed on …"): a dump cut short by a full disk or a kill has none. */
const DUMP_TRAILER = /-- Dump completed/
/** How much of a dump's end is read to find that line. */
const TRAILER_WINDOW = 4096

/**
 * MariaDB (or MySQL) administration through mysql2; identifiers validated and quoted with escapeId. Statements on
 * the tenant's objects log in as the tenant: an `SQL SECURITY INVOKER` view or function then has only its rights.
 */
export function createMariadbAdmin(o: {
  url: string
  exec: Exec
  tenantLogin: TenantLoginSource
  /** The agent's kept tenant sessions; without it every call opens its own connection. */
  sessions?: TenantSessions
  /** Programs joined by pipes (a packed dump, a packed load); the real one unless a test passes its own. */
  pipeline?: ExecPipeline
}): DbAdmin {
  const admin = parseAdminUrl(o.url, 3306)
  const pipeline = o.pipeline ?? execPipeline

  /** A connection as `target` with the session's limits set (the caller ends it). */
  async function openConnection(target: { database?: string; login?: TenantLogin }): Promise<mysql.Connection> {
    const connection = await mysql.createConnection({
      host: admin.host,
      port: admin.port,
      user: target.login?.user ?? admin.user,
      password: target.login?.password ?? admin.password,
      ...(target.database ? { database: target.database } : {}),
      connectTimeout: DB_TIMEOUTS.connectMs,
    })
    try {
      // Seconds here; the metadata lock wait (lock_wait_timeout) defaults to a year, InnoDB's row wait to 50 s.
      const lockS = DB_TIMEOUTS.lockMs / 1000
      await connection.query(
        `SET SESSION max_statement_time = ${DB_TIMEOUTS.statementMs / 1000}, lock_wait_timeout = ${lockS}, innodb_lock_wait_timeout = ${lockS}`,
      )
      return connection
    } catch (error) {
      connection.destroy()
      throw error
    }
  }

  /** The client-side backstop, for one whole call: destroying the connection ends a statement that hangs anyway. */
  async function guarded<T>(c: mysql.Connection, work: () => Promise<T>): Promise<T> {
    const watchdog = setTimeout(() => c.destroy(), DB_TIMEOUTS.clientMs)
    try {
      return await work()
    } finally {
      clearTimeout(watchdog)
    }
  }

  async function withConnection<T>(
    target: { database?: string; login?: TenantLogin },
    what: string,
    work: (c: mysql.Connection) => Promise<T>,
    secrets: string[] = [],
  ): Promise<T> {
    let connection: mysql.Connection | undefined
    try {
      connection = await openConnection(target)
      const c = connection
      return await guarded(c, () => work(c))
    } catch (error) {
      throw dbFailure(error, what, [...secrets, admin.password, target.login?.password ?? ''])
    } finally {
      await connection?.end().catch(() => connection?.destroy())
    }
  }

  /**
   * A session in the client's database logged in as the tenant: the agent's kept session of this database and
   * login when it has one (tenant-sessions.ts), else a connection of its own for this call.
   */
  async function asTenant<T>(name: string, what: string, work: (c: mysql.Connection) => Promise<T>): Promise<T> {
    const db = identifier(name)
    const login = await o.tenantLogin(db)
    const sessions = o.sessions
    if (!sessions) return withConnection({ database: db, login }, what, work, [login.password])
    try {
      return await sessions.use(
        { server: `${admin.host}:${admin.port}`, database: db, user: login.user, password: login.password },
        () => openConnection({ database: db, login }),
        (c) => guarded(c, () => work(c)),
      )
    } catch (error) {
      throw dbFailure(error, what, [login.password, admin.password])
    }
  }

  async function exists(c: mysql.Connection, name: string) {
    const [dbs] = await c.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])
    const [users] = await c.query('SELECT User FROM mysql.user WHERE User = ? AND Host = ?', [name, USER_HOST])
    return { database: (dbs as unknown[]).length > 0, user: (users as unknown[]).length > 0 }
  }

  /** mysqldump ends with its completion line; a dump cut short has none. */
  async function verify(file: string): Promise<void> {
    const { size } = await fs.stat(file)
    const handle = await fs.open(file, 'r')
    const tail = Buffer.alloc(Math.min(size, TRAILER_WINDOW))
    try {
      await handle.read(tail, 0, tail.length, Math.max(0, size - tail.length))
    } finally {
      await handle.close()
    }
    if (size === 0 || !DUMP_TRAILER.test(tail.toString('utf8'))) {
      throw new CommandError(
        wireError('DB_ERROR', `the dump in ${file} is incomplete (${size} bytes, no completion line)`),
      )
    }
  }

  /** mysqldump's argv for `name` (into `file`, else its stdout; `--no-data` for the schema alone). */
  function mysqldumpArgv(name: string, file?: string, schemaOnly = false) {
    const db = identifier(name)
    // --no-defaults first: the host's my.cnf must not redirect the dump; the password only in the environment.
    const argv = ['mysqldump', '--no-defaults', '--host', admin.host, '--port', String(admin.port)]
    argv.push('--user', admin.user, '--single-transaction', '--routines', '--triggers')
    if (schemaOnly) argv.push('--no-data')
    if (file !== undefined) argv.push('--result-file', file)
    argv.push(db)
    return argv
  }
  const dumpEnv = () => ({ ...process.env, MYSQL_PWD: admin.password })

  /** mysqldump of `name` into a file, or streamed into `sink` while it is made (ended only on exit 0). */
  async function mysqldump(name: string, to: { file: string } | { sink: Writable }, signal?: AbortSignal) {
    await o.exec(mysqldumpArgv(name, 'file' in to ? to.file : undefined), {
      env: dumpEnv(),
      redact: [admin.password],
      timeoutMs: DUMP_TIMEOUT_MS,
      ...('sink' in to ? { stdoutTo: to.sink } : {}),
      ...(signal ? { signal } : {}),
    })
  }

  /** mysqldump | zstd → sink: see DbAdmin.dumpPackedTo. */
  async function mysqldumpPacked(name: string, sink: Writable, signal?: AbortSignal) {
    const dump = { argv: mysqldumpArgv(name), env: dumpEnv() }
    const zstd = { argv: ['zstd', `-${ZSTD_LEVEL}`, '-q', '-c'] }
    await pipeline([dump, zstd], {
      stdoutTo: sink,
      redact: [admin.password],
      timeoutMs: DUMP_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    })
  }

  const tablespaces = mariadbTablespaces({
    exec: o.exec,
    pipeline,
    withAdmin: (what, work) => withConnection({}, what, work),
    openAdmin: () => openConnection({}),
    schemaDump: (name, file) => ({ argv: mysqldumpArgv(name, file, true), env: dumpEnv() }),
    redact: [admin.password],
  })

  const restore = mariadbRestore({
    url: o.url,
    exec: o.exec,
    pipeline,
    admin,
    tenantLogin: o.tenantLogin,
    withConnection,
    verify,
    tablespaces,
  })

  return {
    engine: 'mariadb',
    port: admin.port,
    laravelConnection: 'mysql',
    exists: (name) => withConnection({}, `checking database ${name}`, (c) => exists(c, identifier(name))),

    create: (name, password) =>
      withConnection(
        {},
        `creating database ${name}`,
        async (c) => {
          const db = identifier(name)
          const before = await exists(c, db)
          await c.query(
            `CREATE DATABASE IF NOT EXISTS ${c.escapeId(db)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
          )
          await c.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [db, USER_HOST, password])
          // A user left by an earlier half-done run gets this run's password (the new container carries it).
          await c.query('ALTER USER ?@? IDENTIFIED BY ?', [db, USER_HOST, password])
          await c.query(`GRANT ALL PRIVILEGES ON ${c.escapeId(grantPattern(db))}.* TO ?@?`, [db, USER_HOST])
          return { database: !before.database, user: !before.user }
        },
        [password],
      ),

    drop: (name) =>
      withConnection({}, `dropping database ${name}`, async (c) => {
        const db = identifier(name)
        // No session of the tenant outlives its login: a re-created client must never find one.
        await o.sessions?.forget(db)
        const before = await exists(c, db)
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeId(db)}`)
        await c.query('DROP USER IF EXISTS ?@?', [db, USER_HOST])
        return before
      }),

    writeSettings: (name, settings) =>
      asTenant(name, `writing cloud_settings of ${name}`, async (c) => {
        // The upsert first: the table exists after the first write, and its DDL was a round trip on every toggle.
        // Missing (a new or restored database), it is made (the user's grant covers the whole database) and the
        // upsert runs again.
        const values = [...settingsValues(settings)]
        try {
          await c.query(SETTINGS_UPSERT, values)
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'ER_NO_SUCH_TABLE') throw error
          await c.query(SETTINGS_DDL)
          await c.query(SETTINGS_UPSERT, values)
        }
      }),

    count: (name, sql) =>
      asTenant(name, `counting in ${name}`, async (c) => {
        // The SQL is the profile's (master configuration); read-only on top of the tenant's own rights.
        await c.query('START TRANSACTION READ ONLY')
        try {
          const [rows] = await c.query({ sql, rowsAsArray: true })
          return Number((rows as unknown[][])[0]?.[0] ?? 0)
        } finally {
          await c.query('ROLLBACK')
        }
      }),

    dump: (name, file, signal) => mysqldump(name, { file }, signal),

    dumpTo: (name, sink, signal) => mysqldump(name, { sink }, signal),

    dumpPackedTo: (name, sink, signal) => mysqldumpPacked(name, sink, signal),

    tablespaces,

    verify,

    ...restore,
    // A database restored is a new one under the old name: no session kept from before carries into it.
    restore: (name, file, opts) =>
      restoreFresh(restore, name, file, opts).finally(() => o.sessions?.forget(identifier(name))),
    swapLoaded: (name, scratch) =>
      swapFresh(restore, name, scratch).finally(() => o.sessions?.forget(identifier(name))),
  }
}
