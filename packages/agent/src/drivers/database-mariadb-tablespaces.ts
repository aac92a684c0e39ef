import { createWriteStream, type WriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import type mysql from 'mysql2/promise'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { Exec } from '../exec.ts'
import type { ExecPipeline } from '../exec-pipeline.ts'
import { tarReader, type TarMember } from '../transfer/tar-members.ts'
import { TABLESPACES_MARK } from './tablespaces-mark.ts'
import { DUMP_TIMEOUT_MS, ZSTD_LEVEL, identifier } from './database-types.ts'

/** A table whose files can move: its name is its file name (MariaDB encodes any other character). */
const PLAIN_NAME = '[A-Za-z0-9_]{1,64}'
const PLAIN_TABLE = new RegExp(`^${PLAIN_NAME}$`)
/** One of the two files a moving table has: its tablespace and the metadata its export wrote. */
const TABLE_FILE = new RegExp(`^(${PLAIN_NAME})\\.(ibd|cfg)$`)
const SCHEMA = 'schema.sql'

/**
 * A file written into MariaDB's data directory, made MariaDB's: read-write for its user and group (the agent's
 * umask would take the group's write away), and its user and group as root, else its group only: an agent that is
 * not root reaches these directories as a member of MariaDB's group (install.sh), which is then how MariaDB reaches
 * the file.
 */
async function ownAsMariadb(file: string, owner: { uid: number; gid: number }) {
  await fs.chmod(file, 0o660)
  await fs.chown(file, process.getuid?.() === 0 ? owner.uid : -1, owner.gid)
}

/**
 * A file written exclusively, whose errors reach its writer through the write and end callbacks: a listener keeps a
 * write still in flight when a failed import destroys the stream from crashing the agent as an unhandled 'error'.
 */
function quietStream(file: string, mode: number): WriteStream {
  return createWriteStream(file, { flags: 'wx', mode }).on('error', () => undefined)
}

const failed = (message: string) => new CommandError(wireError('DB_ERROR', message))

/** An admin session held for as long as the caller needs it (no watchdog: a lock held through a long copy). */
type OpenAdmin = () => Promise<mysql.Connection>
/** A short admin session for `work`, watched and its errors worded as the driver words them (withConnection). */
type WithAdmin = <T>(what: string, work: (c: mysql.Connection) => Promise<T>) => Promise<T>

async function datadirOf(c: mysql.Connection): Promise<string> {
  const [rows] = await c.query('SELECT @@datadir AS d')
  const dir = (rows as { d?: unknown }[])[0]?.d
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) throw failed('MariaDB names no absolute data directory')
  return dir
}

/**
 * Moving a MariaDB database as its InnoDB files rather than as SQL: the source exports each table's `.ibd` and
 * `.cfg` (`FLUSH TABLES … FOR EXPORT`, the tables read-locked while tar reads them) behind the schema (`mysqldump
 * --no-data`), the target makes the schema in a fresh database logged in as the tenant, discards each table's empty
 * tablespace, writes the arrived files in its place and imports them. A load of INSERT statements re-builds every
 * row and index; an import adjusts the pages it is given, several times faster (bench/README.md, bench/move).
 * Only plain InnoDB tables move so (no partition, no FULLTEXT index, a name that is its own file name), and only
 * between two MariaDB of the same version and page size (the master checks the agents' `innodbCapability`); any
 * other database crosses as SQL, as before.
 */
export function mariadbTablespaces(o: {
  exec: Exec
  pipeline: ExecPipeline
  withAdmin: WithAdmin
  openAdmin: OpenAdmin
  /** mysqldump's argv and environment for `name`'s schema only (no rows), into `file`. */
  schemaDump: (name: string, file: string) => { argv: string[]; env: NodeJS.ProcessEnv }
  redact: string[]
}) {
  /** Statements that may run for as long as a copy does (an import): an unwatched session, ended after. */
  async function withLongAdmin<T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> {
    const c = await o.openAdmin()
    try {
      return await work(c)
    } finally {
      await c.end().catch(() => c.destroy())
    }
  }

  /** The tables of `name` whose files can move, or why the database crosses as SQL. */
  async function exportable(name: string): Promise<{ tables: string[] } | { why: string }> {
    const db = identifier(name)
    return o.withAdmin(`reading the tables of ${db}`, async (c) => {
      const [rows] = await c.query(
        'SELECT TABLE_NAME AS n, TABLE_TYPE AS t, ENGINE AS e, CREATE_OPTIONS AS o FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
        [db],
      )
      const tables: string[] = []
      for (const r of rows as { n: string; t: string; e: string | null; o: string | null }[]) {
        if (r.t === 'VIEW') continue
        if (r.t !== 'BASE TABLE') return { why: `${r.n} is a ${r.t.toLowerCase()}` }
        if (r.e !== 'InnoDB') return { why: `${r.n} is an ${r.e ?? 'unknown'} table` }
        if ((r.o ?? '').includes('partitioned')) return { why: `${r.n} is partitioned` }
        if (!PLAIN_TABLE.test(r.n)) return { why: `${JSON.stringify(r.n)} is not a plain file name` }
        tables.push(r.n)
      }
      if (tables.length === 0) return { why: 'it has no table' }
      const [fulltext] = await c.query(
        "SELECT DISTINCT TABLE_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_TYPE = 'FULLTEXT'",
        [db],
      )
      const ft = (fulltext as { n: string }[])[0]
      if (ft) return { why: `${ft.n} has a FULLTEXT index` }
      const dir = path.join(await datadirOf(c), db)
      for (const t of tables) {
        const ok = await fs.access(path.join(dir, `${t}.ibd`), fs.constants.R_OK).then(
          () => true,
          () => false,
        )
        if (!ok) return { why: `${t}'s file is not readable here (${dir})` }
      }
      return { tables }
    })
  }

  /**
   * Writes the schema aside and locks `tables` FOR EXPORT (a session held until `release`); then `to` writes
   * TABLESPACES_MARK and `tar(schema.sql, <t>.cfg, <t>.ibd …) | zstd` into `sink` (ended only on success, as a
   * dump's). The session holding the lock is watched: should it end before tar does, the stream is cut, so no
   * half-copied file is ever sent whole. Nothing is written anywhere until the lock is held, so a caller whose lock
   * fails (an open transaction of the app holding a table past the lock wait) can still send SQL instead.
   */
  async function exportLocked(name: string, tables: string[], signal?: AbortSignal) {
    const db = identifier(name)
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'alfa-ibd-'))
    const removeWork = () => fs.rm(work, { recursive: true, force: true })
    let c: mysql.Connection | undefined
    try {
      const schema = o.schemaDump(db, path.join(work, SCHEMA))
      await o.exec(schema.argv, {
        env: schema.env,
        redact: o.redact,
        timeoutMs: DUMP_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      })
      c = await o.openAdmin()
      const session = c
      const dir = path.join(await datadirOf(session), db)
      await session.query(
        `FLUSH TABLES ${tables.map((t) => `${session.escapeId(db)}.${session.escapeId(t)}`).join(', ')} FOR EXPORT`,
      )
      // The .cfg files appear with the lock: their presence proves `dir` is this MariaDB's own.
      for (const t of tables)
        await fs.access(path.join(dir, `${t}.cfg`)).catch(() => {
          throw failed(`${t}.cfg did not appear in ${dir}: MariaDB's files are not on this server's disk`)
        })
      const lost = new AbortController()
      const onLost = () => lost.abort(new Error('the session holding the export lock ended'))
      session.once('end', onLost).once('error', onLost)
      return {
        to: async (sink: Writable, stopOn?: AbortSignal) => {
          const stop = stopOn ? AbortSignal.any([stopOn, lost.signal]) : lost.signal
          const members = tables.flatMap((t) => [`${t}.cfg`, `${t}.ibd`])
          const tar = ['tar', '--format=gnu', '-c', '-f', '-', '-C', work, SCHEMA, '-C', dir, ...members]
          sink.write(TABLESPACES_MARK)
          await o.pipeline([{ argv: tar }, { argv: ['zstd', `-${ZSTD_LEVEL}`, '-q', '-c'] }], {
            stdoutTo: sink,
            timeoutMs: DUMP_TIMEOUT_MS,
            signal: stop,
          })
        },
        release: async () => {
          session.off('end', onLost).off('error', onLost)
          await session.query('UNLOCK TABLES').catch(() => undefined)
          await session.end().catch(() => session.destroy())
          await removeWork()
        },
      }
    } catch (error) {
      if (c) await c.end().catch(() => c?.destroy())
      await removeWork()
      throw error
    }
  }

  /**
   * Reads such a stream (`input`, TABLESPACES_MARK first) into `scratch`, made and granted by the caller: the schema
   * first, loaded by `loadSchema` (logged in as the tenant), then every table's files written into the scratch
   * database's directory, owned as MariaDB owns it; once the stream ended cleanly and zstd checked every frame, each
   * table is imported. Only names of tables the schema made are written, each once, so a drop of `scratch` (the
   * caller's, on any failure) removes all of it.
   */
  async function importInto(
    scratch: string,
    input: Readable,
    loadSchema: (file: string) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<void> {
    identifier(scratch)
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'alfa-ibd-'))
    let out: WriteStream | undefined
    try {
      const { dir, owner } = await o.withAdmin(`finding ${scratch}'s directory`, async (c) => {
        const d = path.join(await datadirOf(c), scratch)
        // Made a moment ago under a fresh name: found here only if MariaDB's files are on this server's disk.
        const stat = await fs.lstat(d).catch(() => undefined)
        if (!stat?.isDirectory()) throw failed(`${d} is not on this server's disk: no tablespace can be imported`)
        return { dir: d, owner: { uid: stat.uid, gid: stat.gid } }
      })
      let tables: Set<string> | undefined
      const written = new Map<string, Set<string>>()
      const reader = tarReader({
        open: async (m: TarMember) => {
          if (!tables) {
            if (m.name !== SCHEMA) throw failed(`the archive begins with ${m.name}, not ${SCHEMA}`)
            out = quietStream(path.join(work, SCHEMA), 0o600)
            return
          }
          const file = TABLE_FILE.exec(m.name)
          if (!file || !tables.has(file[1]!)) throw failed(`the archive holds ${m.name}, no table of ${scratch}`)
          const seen = written.get(file[1]!) ?? new Set<string>()
          if (seen.has(file[2]!)) throw failed(`the archive holds ${m.name} twice`)
          seen.add(file[2]!)
          written.set(file[1]!, seen)
          out = quietStream(path.join(dir, m.name), 0o660)
        },
        data: (piece) => new Promise<void>((resolve, reject) => out!.write(piece, (e) => (e ? reject(e) : resolve()))),
        close: async (m) => {
          const stream = out!
          await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())))
          if (tables) return ownAsMariadb(path.join(dir, m.name), owner)
          await loadSchema(path.join(work, SCHEMA))
          tables = await o.withAdmin(`discarding the tablespaces of ${scratch}`, async (c) => {
            const [rows] = await c.query(
              "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
              [scratch],
            )
            const names = (rows as { n: string }[]).map((r) => r.n)
            await c.query('SET SESSION foreign_key_checks = 0')
            for (const t of names)
              await c.query(`ALTER TABLE ${c.escapeId(scratch)}.${c.escapeId(t)} DISCARD TABLESPACE`)
            return new Set(names)
          })
        },
      })
      await o.pipeline([{ argv: ['zstd', '-d', '-q', '-c'] }], {
        stdinStream: input,
        stdoutTo: reader,
        timeoutMs: DUMP_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      })
      if (!tables) throw failed(`the archive held no ${SCHEMA}`)
      const missing = [...tables].filter((t) => written.get(t)?.size !== 2)
      if (missing.length > 0) throw failed(`the archive lacks the files of ${missing.join(', ')}`)
      await withLongAdmin(async (c) => {
        await c.query(`SET SESSION foreign_key_checks = 0, max_statement_time = ${DUMP_TIMEOUT_MS / 1000}`)
        for (const t of tables!) {
          await c.query(`ALTER TABLE ${c.escapeId(scratch)}.${c.escapeId(t)} IMPORT TABLESPACE`)
          await fs.rm(path.join(dir, `${t}.cfg`), { force: true })
        }
      })
    } finally {
      out?.destroy()
      await fs.rm(work, { recursive: true, force: true })
    }
  }

  return { exportable, exportLocked, importInto }
}

export type MariadbTablespaces = ReturnType<typeof mariadbTablespaces>
