import { dbIdentifierSchema, wireError, type ClientSettings, type DbEngine } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'

/** One engine's administration, through the server's admin connection (configuration, never the wire). */
export interface DbAdmin {
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
  /** Creates `cloud_settings` (one row, owned by / granted to the client user) and upserts its row. */
  writeSettings(name: string, settings: ClientSettings): Promise<void>
  /** Runs a profile SELECT in a read-only transaction in the client's database; the first column of the first row. */
  count(name: string, sql: string): Promise<number>
  /** Dumps the database into `file` (already created 0600) with the engine's dump tool; password via env. */
  dump(name: string, file: string, signal?: AbortSignal): Promise<void>
  /**
   * Puts the database back to a dump made by `dump` (a switch's rollback): what is in it now is dropped, the dump is
   * loaded as admin, and the client's user keeps the grants / ownership it had. `connectionsEnded` says whether the
   * app's open connections were cut (then the app needs a restart to reconnect cleanly).
   */
  restore(name: string, file: string, signal?: AbortSignal): Promise<{ connectionsEnded: boolean }>
}

/** The last line a complete dump of either tool ends with ("-- Dump completed on …", "-- PostgreSQL database dump complete"). */
export const DUMP_TRAILER = /-- (?:Dump completed|PostgreSQL database dump complete)/

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
