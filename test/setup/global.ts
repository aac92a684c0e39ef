// Vitest globalSetup of the integration project: one private PostgreSQL for the whole run, whose admin URL tests
// read with inject('postgresAdminUrl') and turn into a database of their own with createTestDatabase(). First it
// takes the machine's run lock, waiting for another integration run to end (run-lock.ts), then removes what a killed
// earlier run left in Docker (sweep-leftovers.ts).
import { rm } from 'node:fs/promises'
import Docker from 'dockerode'
import type { TestProject } from 'vitest/node'
import { dockerAvailable } from '../support/docker.ts'
import { startPostgres } from '../support/postgres.ts'
import { makeTempDir } from '../support/process.ts'
import { holdRunLock, RUN_LOCK_FILE } from './run-lock.ts'
import { sweepLeftovers } from './sweep-leftovers.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's test PostgreSQL (trust auth on 127.0.0.1). */
    postgresAdminUrl: string
    /** A directory for this run's shared scratch files (e.g. a PGlite template), removed at teardown. */
    runTempDir: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const releaseRunLock = await holdRunLock(RUN_LOCK_FILE, {
    onWait: () => console.info(`waiting for the integration run on this machine to end (lock ${RUN_LOCK_FILE})`),
  })
  const docker = new Docker()
  if (await dockerAvailable(docker)) {
    // Best effort: a sweep that fails leaves the run to its tests, whose failures then name the leftover.
    try {
      const swept = await sweepLeftovers(docker)
      if (swept.length > 0) console.info(`removed from Docker what a killed run left: ${swept.length} test server(s)`)
    } catch (error) {
      console.warn(`could not remove what a killed run left in Docker: ${String(error)}`)
    }
  }
  const runTempDir = await makeTempDir('run')
  const postgres = await startPostgres()
  project.provide('postgresAdminUrl', postgres.url)
  project.provide('runTempDir', runTempDir)
  return async () => {
    await postgres.stop()
    await rm(runTempDir, { recursive: true, force: true })
    await releaseRunLock()
  }
}
