import type mysql from 'mysql2/promise'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { Exec, ExecOptions } from '../exec.ts'
import type { ExecPipeline } from '../exec-pipeline.ts'
import { DUMP_TIMEOUT_MS, identifier } from './database-types.ts'
import { isAsideOf, type RestorePrimitives } from './database-restore.ts'
import { rowCounts } from './row-counts.ts'
import type { TenantLogin, TenantLoginSource } from './tenant-login.ts'
import { grantPattern } from './mariadb-grant.ts'
import type { MariadbTablespaces } from './database-mariadb-tablespaces.ts'
import { peekMark } from './tablespaces-mark.ts'

type WithConnection = <T>(
  target: { database?: string; login?: TenantLogin },
  what: string,
  work: (c: mysql.Connection) => Promise<T>,
  secrets?: string[],
) => Promise<T>

/** "Trigger in wrong schema" and friends are avoided by moving only base tables; this says which rows to read. */
const OBJECTS = {
  triggers: 'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?',
  views: 'SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?',
  routines: 'SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?',
  tables:
    "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE')",
} as const

/**
 * MariaDB's restore into a fresh database. MariaDB cannot rename a database, so the swap moves every base table
 * across databases with one `RENAME TABLE a.t TO b.t, …` statement (atomic: all or none). Views, triggers and
 * routines cannot move across databases: they are read from the loaded copy and made again in the live database,
 * logged in as the tenant (they run with its rights only), right after the tables.
 */
export function mariadbRestore(o: {
  url: string
  exec: Exec
  pipeline: ExecPipeline
  admin: { host: string; port: number; password: string }
  tenantLogin: TenantLoginSource
  withConnection: WithConnection
  verify: (file: string) => Promise<void>
  /** Imports a stream of tablespace files (the stream says whether it is one); absent, only SQL is loaded. */
  tablespaces?: Pick<MariadbTablespaces, 'importInto'>
}): RestorePrimitives {
  const { admin, withConnection } = o
  const names = async (c: mysql.Connection, sql: string, db: string) =>
    (await c.query(sql, [db]))[0] as { n: string; t?: string }[]

  async function showCreate(c: mysql.Connection, kind: string, db: string, n: string, column: string) {
    const [rows] = await c.query(`SHOW CREATE ${kind} ${c.escapeId(db)}.${c.escapeId(n)}`)
    const text = (rows as Record<string, unknown>[])[0]?.[column]
    if (typeof text !== 'string') throw new Error(`SHOW CREATE ${kind} ${n} gave no definition`)
    return text
  }

  /**
   * Makes `scratch` (granted to the client's user) and loads a dump into it logged in as the tenant; a `packed`
   * stream goes through `zstd -d` first, joined to mysql by a pipe (the plain bytes never pass through the agent),
   * unless it is a tablespaces archive (it begins with TABLESPACES_MARK): then its schema is loaded so and its
   * tables' files imported.
   */
  async function load(
    name: string,
    scratch: string,
    input: Pick<ExecOptions, 'stdinFile' | 'stdinStream'>,
    signal?: AbortSignal,
    packed = false,
  ) {
    const db = identifier(name)
    identifier(scratch)
    // The login first: without it nothing is made.
    const login = await o.tenantLogin(db)
    await withConnection({}, `making ${scratch} for the restore`, async (c) => {
      await c.query(`CREATE DATABASE ${c.escapeId(scratch)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
      await c.query(`GRANT ALL PRIVILEGES ON ${c.escapeId(grantPattern(scratch))}.* TO ?@'%'`, [db])
    })
    // Loaded logged in as the tenant (the dump's DEFINER clauses name the tenant itself, which it may set);
    // --binary-mode: the client runs none of its own commands (`\!`, `source`) from the file.
    const argv = ['mysql', '--no-defaults', '--host', admin.host, '--port', String(admin.port), '--user', login.user]
    argv.push('--binary-mode', '--database', scratch)
    const env = { ...process.env, MYSQL_PWD: login.password }
    const bounds = {
      redact: [admin.password, login.password],
      timeoutMs: DUMP_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    }
    if (packed && input.stdinStream) {
      const { mark, rest } = o.tablespaces
        ? await peekMark(input.stdinStream)
        : { mark: false, rest: input.stdinStream }
      if (mark && o.tablespaces) {
        const loadSchema = (file: string) => o.exec(argv, { stdinFile: file, env, ...bounds }).then(() => undefined)
        return o.tablespaces.importInto(scratch, rest, loadSchema, signal)
      }
      // zstd checks every frame's checksum; a cut or altered stream fails it, and the load with it.
      const unpack = { argv: ['zstd', '-d', '-q', '-c'] }
      await o.pipeline([unpack, { argv, env }], { stdinStream: rest, ...bounds })
    } else await o.exec(argv, { ...input, env, ...bounds })
  }

  /** Takes the client's user's grant on `aside` away (none, or no user any more: nothing to take). */
  async function revokeOn(c: mysql.Connection, db: string, aside: string) {
    await c.query(`REVOKE ALL PRIVILEGES ON ${c.escapeId(grantPattern(aside))}.* FROM ?@'%'`, [db]).catch((error) => {
      // 1141: no such grant (the trash never had one, a sealed load no more); 1269: the user is gone.
      const errno = (error as { errno?: unknown }).errno
      if (errno !== 1141 && errno !== 1269 && errno !== 1147) throw error
    })
  }

  return {
    rowCounts: (name) => rowCounts('mariadb', { dbMariadbUrl: o.url }, name),

    async loadInto(name, scratch, file, signal) {
      // A complete dump first: without it nothing is made.
      await o.verify(file)
      await load(name, scratch, { stdinFile: file }, signal)
    },

    // Nothing to verify before: the bytes are still arriving. Their sha256 and row counts are checked before use.
    async loadStreamInto(name, scratch, input, signal, packed) {
      await load(name, scratch, { stdinStream: input }, signal, packed)
      // Sealed: only the admin reaches it from now on, so the rows counted next are the rows swapped in later.
      await withConnection({}, `sealing ${scratch}`, async (c) => {
        await revokeOn(c, identifier(name), scratch)
        const [sessions] = await c.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ?', [scratch])
        for (const { id } of sessions as { id: number }[]) await c.query('KILL CONNECTION ?', [id])
      })
    },

    async swapIn(name, scratch, trash) {
      const db = identifier(name)
      for (const n of [scratch, trash]) identifier(n)
      const login = await o.tenantLogin(db)
      // Definitions from the loaded copy (a view's names are qualified with its database: pointed at the live one).
      const made = await withConnection({}, `reading the views, triggers and routines of ${scratch}`, async (c) => {
        const routines: string[] = []
        for (const { n, t } of await names(c, OBJECTS.routines, scratch)) {
          const kind = t === 'FUNCTION' ? 'FUNCTION' : 'PROCEDURE'
          routines.push(
            await showCreate(c, kind, scratch, n, `Create ${kind === 'FUNCTION' ? 'Function' : 'Procedure'}`),
          )
        }
        const views: string[] = []
        for (const { n } of await names(c, OBJECTS.views, scratch)) {
          const text = await showCreate(c, 'VIEW', scratch, n, 'Create View')
          views.push(text.replaceAll(`${c.escapeId(scratch)}.`, `${c.escapeId(db)}.`))
        }
        const triggers: string[] = []
        for (const { n } of await names(c, OBJECTS.triggers, scratch))
          triggers.push(await showCreate(c, 'TRIGGER', scratch, n, 'SQL Original Statement'))
        return { routines, views, triggers }
      })
      await withConnection({}, `swapping ${scratch} in as ${db}`, async (c) => {
        await c.query(`CREATE DATABASE IF NOT EXISTS ${c.escapeId(trash)}`)
        // Nothing of these runs on DROP; they go from both sides so the tables can move (and the live ones are the
        // failed state's anyway: the copy's are made again below).
        for (const { n } of await names(c, OBJECTS.triggers, scratch))
          await c.query(`DROP TRIGGER IF EXISTS ${c.escapeId(scratch)}.${c.escapeId(n)}`)
        for (const { n } of await names(c, OBJECTS.triggers, db))
          await c.query(`DROP TRIGGER IF EXISTS ${c.escapeId(db)}.${c.escapeId(n)}`)
        for (const { n } of await names(c, OBJECTS.views, db))
          await c.query(`DROP VIEW IF EXISTS ${c.escapeId(db)}.${c.escapeId(n)}`)
        for (const { n, t } of await names(c, OBJECTS.routines, db))
          await c.query(
            `DROP ${t === 'FUNCTION' ? 'FUNCTION' : 'PROCEDURE'} IF EXISTS ${c.escapeId(db)}.${c.escapeId(n)}`,
          )
        const moves = [
          ...(await names(c, OBJECTS.tables, db)).map(
            ({ n }) => `${c.escapeId(db)}.${c.escapeId(n)} TO ${c.escapeId(trash)}.${c.escapeId(n)}`,
          ),
          ...(await names(c, OBJECTS.tables, scratch)).map(
            ({ n }) => `${c.escapeId(scratch)}.${c.escapeId(n)} TO ${c.escapeId(db)}.${c.escapeId(n)}`,
          ),
        ]
        // One statement: the live database holds either all the old tables or all the restored ones.
        if (moves.length > 0) await c.query(`RENAME TABLE ${moves.join(', ')}`)
      })
      await withConnection(
        { database: db, login },
        `making the views, triggers and routines of ${db} again`,
        async (c) => {
          for (const text of made.routines) await c.query(text)
          // A view may select from another view: made in passes until none is left or a pass makes nothing.
          let pending = made.views
          while (pending.length > 0) {
            const failed: string[] = []
            let lastError: unknown
            for (const text of pending) {
              await c.query(text).catch((error: unknown) => {
                failed.push(text)
                lastError = error
              })
            }
            if (failed.length === pending.length) throw lastError
            pending = failed
          }
          for (const text of made.triggers) await c.query(text)
        },
        [login.password],
      )
      return { connectionsEnded: false }
    },

    asideOf: (name) =>
      withConnection({}, `listing the restore databases of ${name}`, async (c) => {
        const db = identifier(name)
        const [rows] = await c.query(
          'SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?',
          [`${grantPattern(db)}\\_\\_%`],
        )
        return (rows as { n: string }[]).map((r) => r.n).filter((n) => isAsideOf(db, n))
      }),

    dropAside: (name, aside) =>
      withConnection({}, `dropping ${aside}`, async (c) => {
        const db = identifier(name)
        if (!isAsideOf(db, identifier(aside)))
          throw new CommandError(wireError('INTERNAL', `${aside} is not a restore database of ${db}: not dropped`))
        // A load a killed agent left running (its mysql client outlives it) would hold the drop on a lock: ended.
        const [sessions] = await c.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ?', [aside])
        for (const { id } of sessions as { id: number }[])
          await c.query('KILL CONNECTION ?', [id]).catch(() => undefined)
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeId(aside)}`)
        // A dropped database keeps its grants (they would apply to a database made later under that name).
        await revokeOn(c, db, aside)
      }),
  }
}
