// Applies prisma/migrations at start-up the way `prisma migrate deploy` would, without Prisma's native engine
// (see MACHINE-NOTES.md). The bookkeeping table is Prisma's own, so the real CLI can take over the history later.
import { createHash, randomUUID } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { MigrationSession } from './migration-session.ts'

/** Why applying migrations stopped; a closed list so callers and tests can tell the cases apart. */
export const MigrationErrorCode = {
  failed: 'MIGRATION_FAILED',
  checksumMismatch: 'MIGRATION_CHECKSUM_MISMATCH',
  failedEarlier: 'MIGRATION_FAILED_EARLIER',
  wrongProvider: 'MIGRATION_WRONG_PROVIDER',
} as const
export type MigrationErrorCode = (typeof MigrationErrorCode)[keyof typeof MigrationErrorCode]

/** A migration history the master refuses to start with. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError'
  constructor(
    readonly code: MigrationErrorCode,
    readonly migrationName: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** A migration folder as found on disk. */
export interface LocalMigration {
  name: string
  sql: string
  /** sha256 hex of migration.sql, as Prisma Migrate computes it. */
  checksum: string
}

export interface ApplyMigrationsOptions {
  session: MigrationSession
  migrationsDir: string
  logger: Logger
}

interface AppliedRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

// Prisma Migrate's own lock key, so a `prisma migrate deploy` run by hand waits for us and we for it.
const ADVISORY_LOCK_KEY = 72707369

// Prisma Migrate's DDL for its bookkeeping table, column for column.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

/** sha256 hex of a migration script, the checksum `_prisma_migrations` stores. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

/** Reads `<dir>/<name>/migration.sql` for every folder, in name (= timestamp) order. */
export async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  const lock = await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      // A missing lock file only loses a sanity check; Prisma itself tolerates it for deploy.
      if (error.code === 'ENOENT') return undefined
      throw error
    },
  )
  if (lock !== undefined && !/^\s*provider\s*=\s*"postgresql"\s*$/m.test(lock)) {
    throw new MigrationError(
      MigrationErrorCode.wrongProvider,
      undefined,
      `${path.join(migrationsDir, 'migration_lock.toml')} is not for provider "postgresql"`,
    )
  }
  const entries = await readdir(migrationsDir, { withFileTypes: true })
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name)
  names.sort()
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: migrationChecksum(sql) }
    }),
  )
}

/** Applies the pending migrations of `migrationsDir`, each in its own transaction; returns the names applied. */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<{ applied: string[] }> {
  const { session } = options
  const logger = options.logger.child({ component: 'migrate' })
  const local = await readMigrations(options.migrationsDir)

  // Replicas starting together on one PostgreSQL queue here; the second one then finds nothing pending.
  await session.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY])
  try {
    await session.exec(CREATE_MIGRATIONS_TABLE)
    const rows = await session.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    )
    const pending = pendingMigrations(local, rows, logger)
    for (const migration of pending) await applyOne(session, migration, logger)
    logger.info({ applied: pending.length, total: local.length }, 'database schema is up to date')
    return { applied: pending.map((m) => m.name) }
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY])
  }
}

function pendingMigrations(local: LocalMigration[], rows: AppliedRow[], logger: Logger): LocalMigration[] {
  // Rows marked rolled back were resolved by hand (`prisma migrate resolve`) and count as not applied.
  const live = rows.filter((r) => r.rolled_back_at === null)
  const failed = live.find((r) => r.finished_at === null)
  if (failed) {
    throw new MigrationError(
      MigrationErrorCode.failedEarlier,
      failed.migration_name,
      `migration ${failed.migration_name} failed earlier and is recorded as unfinished in _prisma_migrations; ` +
        'repair the database and mark it rolled back or applied before starting again',
    )
  }
  const applied = new Map(live.map((r) => [r.migration_name, r.checksum]))
  for (const migration of local) {
    const checksum = applied.get(migration.name)
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new MigrationError(
        MigrationErrorCode.checksumMismatch,
        migration.name,
        `migration ${migration.name} was changed after it was applied ` +
          `(checksum in the database ${checksum}, on disk ${migration.checksum}); applied migrations must not be edited`,
      )
    }
  }
  const known = new Set(local.map((m) => m.name))
  const unknown = [...applied.keys()].filter((name) => !known.has(name))
  // A newer replica may already have migrated during a rolling upgrade: worth a warning, not a refusal.
  if (unknown.length > 0) logger.warn({ migrations: unknown }, 'database has migrations this build does not know')
  return local.filter((m) => !applied.has(m.name))
}

async function applyOne(session: MigrationSession, migration: LocalMigration, logger: Logger): Promise<void> {
  const started = performance.now()
  // The bookkeeping row is written inside the same transaction, so a failure leaves neither schema nor record.
  // This needs transaction-safe SQL (no CREATE INDEX CONCURRENTLY), which Prisma's generated migrations are.
  await session.exec('BEGIN')
  try {
    const id = randomUUID()
    await session.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
      [id, migration.checksum, migration.name],
    )
    await session.exec(migration.sql)
    await session.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [
      id,
    ])
    await session.exec('COMMIT')
  } catch (error) {
    await session.exec('ROLLBACK').catch((rollbackError: unknown) => {
      // The original failure is the one to report; a broken connection rolls back on its own anyway.
      logger.error({ err: rollbackError, migration: migration.name }, 'rollback after failed migration failed')
    })
    throw new MigrationError(
      MigrationErrorCode.failed,
      migration.name,
      `migration ${migration.name} failed and was rolled back: ${describeDbError(error, migration.sql)}`,
      { cause: error },
    )
  }
  logger.info({ migration: migration.name, durationMs: Math.round(performance.now() - started) }, 'applied migration')
}

// Database errors carry a character position into the script; a line number is what a person can look up.
function describeDbError(error: unknown, sql: string): string {
  if (!(error instanceof Error)) return String(error)
  const position = Number((error as { position?: unknown }).position)
  if (!Number.isInteger(position) || position < 1) return error.message
  const line = sql.slice(0, position - 1).split('\n').length
  return `${error.message} (migration.sql line ${line})`
}
