import type { MariadbTablespaces } from './database-mariadb-tablespaces.ts'
import type { Writable } from 'node:stream'
import { COMMAND_DEADLINES_MS, dbIdentifierSchema, wireError, type ClientSettings, type DbEngine } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { RestoreOptions, RestoreOutcome, RestorePrimitives } from './database-restore.ts'

/** One engine's administration, through the server's admin connection (configuration, never the wire). */
export interface DbAdmin extends RestorePrimitives {
  engine: DbEngine
  /** The engine's port, as the client's container reaches it (the host is configuration). */
  port: number
  /** Laravel's DB_CONNECTION value for this engine. */
  laravelConnection: 'mysql' | 'pgsql'
  /** Whether the database and the user of that name exist. */
  exists(name: string): Promise<{ database: boolean; user: boolean }>
  /**
   * Makes the database and its user (same name) with `password`, converging: an existing database is kept (its
   * data is the client's), an existing user gets the new password. Reports what this call created.
   */
  create(name: string, password: string): Promise<{ database: boolean; user: boolean }>
  /** Drops database and user; reports what existed. */
  drop(name: string): Promise<{ database: boolean; user: boolean }>
  /**
   * Creates `cloud_settings` (one row, the client's own) and upserts its row, logged in as the tenant (a trigger
   * the tenant put on the table runs with the tenant's rights, not the admin's), search_path pinned.
   */
  writeSettings(name: string, settings: ClientSettings): Promise<void>
  /**
   * Runs a profile SELECT in a read-only transaction in the client's database, logged in as the tenant (a view or
   * function the tenant planted runs with the tenant's rights); the first column of the first row.
   */
  count(name: string, sql: string): Promise<number>
  /** Dumps the database into `file` (already created 0600) with the engine's dump tool; password via env. */
  dump(name: string, file: string, signal?: AbortSignal): Promise<void>
  /**
   * The same dump streamed into `sink` while the tool makes it (a move's transfer), with backpressure; `sink` is
   * ended only when the tool exited 0, destroyed otherwise. Absent for an engine whose dump is not streamed.
   */
  dumpTo?(name: string, sink: Writable, signal?: AbortSignal): Promise<void>
  /**
   * The same dump compressed with zstd (ZSTD_LEVEL) into `sink` while the tool makes it: `mysqldump | zstd`, two
   * programs joined by a pipe, so the plain text never passes through the agent. `sink` is ended only when both
   * exited 0. Absent for an engine whose dump is compressed already (PostgreSQL's custom format).
   */
  dumpPackedTo?(name: string, sink: Writable, signal?: AbortSignal): Promise<void>
  /**
   * A move's dump as the tables' InnoDB files (database-mariadb-tablespaces.ts): `exportable` says which tables, or
   * why the database crosses as SQL; `exportLocked` locks them and then writes the archive. MariaDB only.
   */
  tablespaces?: Pick<MariadbTablespaces, 'exportable' | 'exportLocked'>
  /** Throws DB_ERROR unless `file` is a complete dump made by `dump` (a cut-short file must never be relied on). */
  verify(file: string, signal?: AbortSignal): Promise<void>
  /**
   * Puts the database back to a dump made by `dump` (a switch's rollback) without dropping anything first: the dump
   * is loaded into a new database logged in as the tenant by a tool that runs no client commands, its row counts
   * checked, and only then swapped in (restoreFresh). The client's database name, user and grants stay as they were.
   * `connectionsEnded` says whether the app's open connections were cut (then the app needs a restart).
   */
  restore(name: string, file: string, opts?: RestoreOptions): Promise<RestoreOutcome>
  /**
   * Swaps in a database loadFresh filled from a streamed dump, once its bytes and rows were checked (swapFresh).
   * Present with `loadStreamInto`.
   */
  swapLoaded?(name: string, scratch: string): Promise<{ connectionsEnded: boolean; leftover: string[] }>
}

/**
 * Bounds on every statement the agent sends, admin or tenant: an `ALTER … OWNER` or an upsert queued behind a
 * tenant's open transaction fails after LOCK_TIMEOUT_MS instead of waiting forever, and a hung count ends (its
 * connection with it) after STATEMENT_TIMEOUT_MS. The client-side limit is the backstop should the server's fail.
 */
/**
 * zstd's level for a dump on its way between servers: the fastest of the regular levels (~250 MB/s of SQL text per
 * core here, 3–300 times smaller), so that compressing costs less CPU than carrying the plain bytes through the
 * agents and the relay would.
 */
export const ZSTD_LEVEL = 1

export const DB_TIMEOUTS = { connectMs: 10_000, statementMs: 30_000, lockMs: 5_000, clientMs: 40_000 } as const

/**
 * The bound of a dump or load tool run without a command's deadline (its signal bounds it otherwise). No stricter
 * than the commands that dump or load a whole database: at 10 minutes, as it was, a database that took longer than
 * that to dump, load or stream between servers failed every attempt although its command had an hour.
 */
export const DUMP_TIMEOUT_MS = Math.max(
  COMMAND_DEADLINES_MS['transfer.send'],
  COMMAND_DEADLINES_MS['transfer.receive'],
  COMMAND_DEADLINES_MS['client.restore'],
  COMMAND_DEADLINES_MS['client.switch'],
)

/** Validates a database/user name before it is quoted into DDL (SECURITY.md: validated and quoted). */
export function identifier(name: string): string {
  const parsed = dbIdentifierSchema.safeParse(name)
  if (!parsed.success)
    throw new CommandError(wireError('INVALID_PAYLOAD', `not a database identifier: ${JSON.stringify(name)}`))
  return parsed.data
}

/** A driver failure as DB_ERROR, with every secret removed (a syntax error can echo the statement's literals). */
export function dbFailure(error: unknown, what: string, secrets: readonly string[] = []): CommandError {
  if (error instanceof CommandError) return error
  let message = error instanceof Error ? error.message : String(error)
  for (const secret of secrets) if (secret !== '') message = message.replaceAll(secret, '[redacted]')
  return new CommandError(wireError('DB_ERROR', `${what}: ${message}`))
}

/** Host, port, user and password of an admin URL (percent-decoded). */
export function parseAdminUrl(text: string, defaultPort: number) {
  const url = new URL(text)
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? defaultPort : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
  }
}

/** The `cloud_settings` row's values in column order. */
export const settingsValues = (s: ClientSettings) =>
  [s.maintenance, s.expireDate, s.turbostart, s.tutorial, s.version] as const
