// Vitest globalSetup of the integration project: one private PostgreSQL for the whole run, whose admin URL tests
// read with inject('postgresAdminUrl') and turn into a database of their own with createTestDatabase().
import { rm } from 'node:fs/promises'
import type { TestProject } from 'vitest/node'
import { startPostgres } from '../support/postgres.ts'
import { makeTempDir } from '../support/process.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's test PostgreSQL (trust auth on 127.0.0.1). */
    postgresAdminUrl: string
    /** A directory for this run's shared scratch files (e.g. a PGlite template), removed at teardown. */
    runTempDir: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runTempDir = await makeTempDir('run')
  const postgres = await startPostgres()
  project.provide('postgresAdminUrl', postgres.url)
  project.provide('runTempDir', runTempDir)
  return async () => {
    await postgres.stop()
    await rm(runTempDir, { recursive: true, force: true })
  }
}
