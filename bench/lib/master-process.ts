// The master under test, as a child process exactly as production runs it: `node --import tsx .../main.ts`.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync } from 'node:fs'
import path from 'node:path'
import { masterArgs } from '../../packages/master/src/node-flags.ts'
import { tailFile } from '../../test/support/process.ts'
import { trackChild } from './cleanup.ts'

export interface MasterProcess {
  child: ChildProcess
  pid: number
  url: string
  logFile: string
  alive(): boolean
}

export async function startMasterProcess(opts: {
  cwd: string
  port: number
  dataDir: string
  databaseUrl: string
  user: string
  password: string
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[]
  env?: Record<string, string>
}): Promise<MasterProcess> {
  const logFile = path.join(opts.dataDir, 'master.log')
  const out = openSync(logFile, 'a')
  // As scripts/start runs it (packages/master/node-flags), with the bench's own flags after the master's.
  const child = spawn(process.execPath, masterArgs(opts.nodeFlags), {
    cwd: opts.cwd,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      ALFA_PORT: String(opts.port),
      ALFA_HOST: '127.0.0.1',
      ALFA_DATA_DIR: opts.dataDir,
      DATABASE_URL: opts.databaseUrl,
      ALFA_ADMIN_USER: opts.user,
      ALFA_ADMIN_PASSWORD: opts.password,
      ALFA_LOG_LEVEL: 'warn',
      ALFA_METRICS_INTERVAL_MS: '5000',
      ...opts.env,
    },
  })
  trackChild(child)
  const url = `http://127.0.0.1:${opts.port}`
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the master exited (${child.exitCode}) while starting\n${await tailFile(logFile)}`)
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the master did not answer /health within 120 s\n${await tailFile(logFile)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return { child, pid: child.pid!, url, logFile, alive: () => child.exitCode === null && child.signalCode === null }
}
