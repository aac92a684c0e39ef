// Vitest globalSetup of the integration project: one private PostgreSQL for the whole run, whose admin URL tests
// read with inject('postgresAdminUrl') and turn into a database of their own with createTestDatabase(). First it
// takes the machine's run lock, waiting for another integration run to end (run-lock.ts), then removes what a killed
// earlier run left in Docker (sweep-leftovers.ts).
import { existsSync } from 'node:fs'
import { chmod, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Docker from 'dockerode'
import type { TestProject } from 'vitest/node'
import { dockerAvailable } from '../support/docker.ts'
import { startPostgres } from '../support/postgres.ts'
import { makeTempDir, tempDirNames } from '../support/process.ts'
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

/** What a run's temporary directory is called (makeTempDir), and so what a killed run's is. */
const RUN_DIR = 'run'
const RUN_DIRS = tempDirNames(RUN_DIR)

/** Marks a run's temporary directory kept on purpose (ALFA_TEST_KEEP_TMP=1): the next run leaves it alone. */
const KEPT = 'kept'

/**
 * The temporary directories of runs killed before their teardown (`alfa-run-XXXXXX` in the system's, not kept on
 * purpose): the run lock is held, so none of them is a live run's.
 */
async function removeKilledRunsTemp(): Promise<void> {
  const tmp = os.tmpdir()
  for (const name of await readdir(tmp)) {
    if (!RUN_DIRS.test(name)) continue
    const dir = path.join(tmp, name)
    if (!existsSync(path.join(dir, KEPT))) await rm(dir, { recursive: true, force: true })
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
  await removeKilledRunsTemp()
  const runTempDir = await makeTempDir(RUN_DIR)
  // Others may pass (nginx's workers as www-data, MariaDB as mysql, a test user) into what tests open to them.
  await chmod(runTempDir, 0o711)
  const postgres = await startPostgres()
  project.provide('postgresAdminUrl', postgres.url)
  project.provide('runTempDir', runTempDir)
  // Every temporary directory of the run, the tests' and those of the masters, agents and tools they start
  // (os.tmpdir() reads TMPDIR; the test workers start after this and inherit it), is made inside the run's, so
  // that the teardown removes them all, also what a killed agent or a failed test left: before, each run left
  // some forty directories in /tmp (logs, agent credentials, state). ALFA_TEST_KEEP_TMP=1 keeps them to read.
  const systemTmp = process.env.TMPDIR
  process.env.TMPDIR = runTempDir
  return async () => {
    await postgres.stop()
    if (systemTmp === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = systemTmp
    if (process.env.ALFA_TEST_KEEP_TMP === '1') {
      await writeFile(path.join(runTempDir, KEPT), '')
      console.info(`the run's temporary files are kept in ${runTempDir}`)
    } else await rm(runTempDir, { recursive: true, force: true })
    await releaseRunLock()
  }
}
