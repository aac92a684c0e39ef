// The two databases the master runs on, for suites that must pass on both (one shared suite per interface,
// as Hono's common.case tests do). Each call of databaseUrl() is a fresh, empty database.
import { inject } from 'vitest'
import { createTestDatabase } from './postgres.ts'

/** A database backend as the master sees it: PGlite when `databaseUrl()` gives undefined, else PostgreSQL. */
export interface Backend {
  name: 'pglite' | 'postgres'
  /** A URL of a new empty database, or undefined for the embedded PGlite (fresh because its data dir is). */
  databaseUrl(): Promise<string | undefined>
}

/** Both backends; PostgreSQL is the run's shared instance started by test/setup/global.ts. */
export function backends(): Backend[] {
  return [
    { name: 'pglite', databaseUrl: async () => undefined },
    { name: 'postgres', databaseUrl: () => createTestDatabase(inject('postgresAdminUrl')) },
  ]
}
