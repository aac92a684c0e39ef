// One provider (postgresql) and one migration history serve both databases: embedded PGlite by default, a real
// PostgreSQL when DATABASE_URL is set. Migrations are applied before the Prisma client is handed out.
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import type { Logger } from 'pino'
import { PrismaClient } from '../generated/prisma/client.ts'
import { applyMigrations } from './migrate.ts'
import { pgliteSql, pgSql, type Sql } from './sql.ts'
import { pgClientSession, pgliteSession } from './migration-session.ts'
import { pgliteNotifications, pgNotifications, type Notifications } from './notifications.ts'

/** The master's open database: a Prisma client, the hot paths' direct statements, and how to release them. */
export interface Database {
  prisma: PrismaClient
  sql: Sql
  /** LISTEN/NOTIFY, for caches that a trigger keeps coherent (db/notifications.ts). */
  notifications: Notifications
  kind: 'pglite' | 'postgres'
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite under `dataDir` is used. */
  databaseUrl?: string
  /** The master's data directory; PGlite lives in `<dataDir>/pglite`. */
  dataDir: string
  logger: Logger
  /** Defaults to the repository's prisma/migrations. */
  migrationsDir?: string
}

/** The repository's prisma/migrations, found from this file so the working directory does not matter. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../../prisma/migrations', import.meta.url))

/** Opens the database, applies pending migrations and returns a ready Prisma client. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, migrationsDir, options.logger)
    : openPglite(path.join(options.dataDir, 'pglite'), migrationsDir, options.logger)
}

async function openPglite(dir: string, migrationsDir: string, logger: Logger): Promise<Database> {
  await mkdir(dir, { recursive: true })
  const pglite = await PGlite.create(dir)
  try {
    await applyMigrations({ session: pgliteSession(pglite), migrationsDir, logger })
  } catch (error) {
    await pglite.close()
    throw error
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) })
  logger.info({ component: 'database', kind: 'pglite', dir }, 'database open')
  const notifications = pgliteNotifications(pglite)
  return {
    prisma,
    sql: pgliteSql(pglite),
    notifications,
    kind: 'pglite',
    close: async () => {
      await notifications.close()
      await prisma.$disconnect()
      // Closing flushes PGlite's files; skipping it risks a data dir that needs recovery on the next start.
      await pglite.close()
    },
  }
}

async function openPostgres(databaseUrl: string, migrationsDir: string, logger: Logger): Promise<Database> {
  // Migrations need one dedicated session (advisory lock, BEGIN/COMMIT); the Prisma pool is opened afterwards.
  const client = new pg.Client({ connectionString: databaseUrl })
  // Without a listener a connection dropped by the server would crash the process instead of failing the query.
  client.on('error', (error) => logger.error({ err: error, component: 'database' }, 'migration connection failed'))
  await client.connect().catch((error: unknown) => {
    throw new Error(`cannot connect to PostgreSQL at ${safeHost(databaseUrl)}: ${(error as Error).message}`, {
      cause: error,
    })
  })
  try {
    await applyMigrations({ session: pgClientSession(client), migrationsDir, logger })
  } finally {
    await client.end()
  }
  // One pool for Prisma and the direct statements, so together they never hold more connections than it allows.
  const pool = new pg.Pool({ connectionString: databaseUrl })
  pool.on('error', (error) => logger.error({ err: error, component: 'database' }, 'idle database connection failed'))
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
  logger.info({ component: 'database', kind: 'postgres', host: safeHost(databaseUrl) }, 'database open')
  const notifications = pgNotifications(databaseUrl, logger)
  return {
    prisma,
    sql: pgSql(pool),
    notifications,
    kind: 'postgres',
    close: async () => {
      await notifications.close()
      await prisma.$disconnect()
      await pool.end()
    },
  }
}

// The URL may carry a password; only the host and database name are worth a log line.
function safeHost(databaseUrl: string): string {
  const url = new URL(databaseUrl)
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`
}
