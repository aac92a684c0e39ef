// A master database at a fixed place (a PGlite data dir or a PostgreSQL database) that tests can open, close and
// reopen through openDatabase(), and inspect with plain SQL between opens, when no Prisma client is up.
import { cp, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { inject } from 'vitest'
import { createLogger } from '../../packages/master/src/logger.ts'
import type { Database } from '../../packages/master/src/db/open-database.ts'
import { DEFAULT_MIGRATIONS_DIR, openDatabase } from '../../packages/master/src/db/open-database.ts'
import type { Backend } from './backends.ts'

export interface DatabaseFixture {
  backend: Backend['name']
  /** Opens the master's database here, as a start of the master would (migrations first). */
  open(migrationsDir?: string): Promise<Database>
  /** Runs one query outside Prisma; only while no Database from open() is up (PGlite has one user). */
  query<Row extends object>(sql: string, params?: unknown[]): Promise<Row[]>
  dispose(): Promise<void>
}

const logger = createLogger({ level: process.env.ALFA_TEST_LOG_LEVEL ?? 'silent' })

// Initialising a PGlite cluster takes about 10 s here (initdb in WASM) and opening a copy about 2 s, so each test
// worker initialises one empty cluster and hands out copies of it.
let pgliteTemplate: Promise<string> | undefined

function emptyPgliteCluster(): Promise<string> {
  pgliteTemplate ??= (async () => {
    // Under the run's scratch dir, which the global teardown removes: workers have no teardown of their own.
    const dir = await mkdtemp(path.join(inject('runTempDir'), 'pglite-template-'))
    await (await PGlite.create(dir)).close()
    return dir
  })()
  return pgliteTemplate
}

/**
 * A fresh, empty database on `backend`; nothing is created until the first open(). With `fresh`, PGlite starts
 * from a missing data dir, as on a first start, instead of from a copy of an empty cluster.
 */
export async function createDatabaseFixture(
  backend: Backend,
  options: { fresh?: boolean } = {},
): Promise<DatabaseFixture> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'alfa-db-'))
  const databaseUrl = await backend.databaseUrl()
  if (databaseUrl === undefined && !options.fresh) {
    await cp(await emptyPgliteCluster(), path.join(dataDir, 'pglite'), { recursive: true })
  }
  const open = (migrationsDir?: string) => openDatabase({ databaseUrl, dataDir, logger, migrationsDir })
  const dispose = () => rm(dataDir, { recursive: true, force: true })
  if (databaseUrl === undefined) {
    return {
      backend: backend.name,
      open,
      dispose,
      async query<Row extends object>(sql: string, params: unknown[] = []) {
        const db = await PGlite.create(path.join(dataDir, 'pglite'))
        try {
          return (await db.query<Row>(sql, params)).rows
        } finally {
          await db.close()
        }
      },
    }
  }
  return {
    backend: backend.name,
    open,
    dispose,
    async query<Row extends object>(sql: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      try {
        return (await client.query<Row & pg.QueryResultRow>(sql, params)).rows
      } finally {
        await client.end()
      }
    },
  }
}

/** A private copy of the repository's migrations that a test may add to or edit. */
export async function copyMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'alfa-migrations-'))
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true })
  return dir
}
