// bench/restart: N simulated agents connected to a real master child process on PostgreSQL; the master is killed
// (SIGKILL) and started again on the same database and port, and each agent's reconnect delay is measured from the
// master answering /health again to that agent's new welcome. The agents back off exactly as the real agent does.
//   npx -y pnpm@12.4.2 run bench:restart -- [--agents N] [--procs P] [--down-s S] ...
// See bench/README.md for the options and the last figures.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadAgentConfig } from '../packages/agent/src/config.ts'
import { createLogger } from '../packages/master/src/logger.ts'
import { openDatabase } from '../packages/master/src/db/open-database.ts'
import { freePort } from '../test/support/ports.ts'
import { createTestDatabase, startPostgres } from '../test/support/postgres.ts'
import { makeTempDir } from '../test/support/process.ts'
import { cleanup, installExitHandlers, onCleanup, trackChild } from './lib/cleanup.ts'
import { startMasterProcess } from './lib/master-process.ts'
import { printRestartReport } from './lib/restart-report.ts'
import { seedAgents } from './lib/seed.ts'
import { SimPool } from './lib/sim-pool.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const now = () => performance.timeOrigin + performance.now()

const { values: opt } = parseArgs({
  // `pnpm run bench:restart -- --agents 100` passes the `--` through, and parseArgs would read every option after it
  // as a positional: drop a leading `--`.
  args: process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--')),
  options: {
    agents: { type: 'string', default: '1000' },
    procs: { type: 'string' },
    wave: { type: 'string', default: '500' },
    /** Seconds the master stays down after the kill before it is started again (beyond its own start-up time). */
    'down-s': { type: 'string', default: '0' },
    /** How long to wait for every agent to be back before reporting the missing ones. */
    'wait-s': { type: 'string', default: '120' },
    /** The agents' backoff; default: the agent's own configuration defaults (ALFA_AGENT_BACKOFF_*_MS). */
    'backoff-base-ms': { type: 'string' },
    'backoff-max-ms': { type: 'string' },
    'timeout-min': { type: 'string', default: '15' },
  },
})

const int = (name: string, v: string | undefined, min: number, max: number) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`)
  return n
}
const N = int('agents', opt.agents, 1, 19_000)
const PROCS = int('procs', opt.procs ?? String(Math.max(1, Math.ceil(N / 6_000))), 1, 16)
const WAVE = int('wave', opt.wave, 1, 4_000)
const DOWN_S = int('down-s', opt['down-s'], 0, 600)
const WAIT_S = int('wait-s', opt['wait-s'], 10, 3_600)

// The backoff goes through the agent's own configuration loader: same defaults, same validation (base <= max).
const agentConfig = loadAgentConfig({
  ALFA_AGENT_STATE_DIR: path.join(ROOT, 'bench', '.no-agent-state'),
  ...(opt['backoff-base-ms'] ? { ALFA_AGENT_BACKOFF_BASE_MS: opt['backoff-base-ms'] } : {}),
  ...(opt['backoff-max-ms'] ? { ALFA_AGENT_BACKOFF_MAX_MS: opt['backoff-max-ms'] } : {}),
})
const backoff = { baseMs: agentConfig.backoffBaseMs, maxMs: agentConfig.backoffMaxMs }

const started = Date.now()
const log = (line: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)

/** Source addresses of this bench (its own block: ports are limited per source address, see MACHINE-NOTES). */
const addresses = Array.from({ length: 8 }, (_, i) => `127.0.4.${i + 1}`)

async function main() {
  installExitHandlers(int('timeout-min', opt['timeout-min'], 1, 180) * 60_000)
  const tmp = await makeTempDir('bench-restart')
  onCleanup(() => fs.rm(tmp, { recursive: true, force: true }))

  log('starting PostgreSQL')
  const postgres = await startPostgres()
  onCleanup(() => postgres.stop())
  const databaseUrl = await createTestDatabase(postgres.url)
  const db = await openDatabase({ databaseUrl, dataDir: tmp, logger: createLogger({ level: 'warn' }) })
  onCleanup(() => db.close())
  log(`seeding ${N} servers and agent credentials`)
  const agents = await seedAgents(db, N, 'restart')

  const masterDir = path.join(tmp, 'master')
  await fs.mkdir(masterDir)
  const masterOpts = {
    cwd: ROOT,
    port: await freePort(),
    dataDir: masterDir,
    databaseUrl,
    user: 'bench',
    password: randomBytes(24).toString('base64url'),
  }
  log('starting the master')
  let master = await startMasterProcess(masterOpts)
  const wsUrl = `${master.url.replace('http', 'ws')}/agent`

  const pool = new SimPool(PROCS, ROOT, trackChild)
  log(`connecting ${N} agents (${PROCS} simulator processes), backoff ${backoff.baseMs}..${backoff.maxMs} ms`)
  const connected = await pool.connect(wsUrl, agents, addresses, WAVE, 60_000, backoff)
  if (connected.failed > 0)
    throw new Error(`${connected.failed} agents failed to connect: ${JSON.stringify(connected.errors)}`)
  log(`${connected.ok} agents connected in ${connected.seconds} s`)

  const killedAt = now()
  const exited = new Promise((r) => master.child.once('exit', r))
  master.child.kill('SIGKILL')
  await exited
  log('master killed (SIGKILL)')
  if (DOWN_S > 0) await new Promise((r) => setTimeout(r, DOWN_S * 1000))
  master = await startMasterProcess(masterOpts)
  const readyAt = master.readyAt
  log(`master answering /health again, ${((readyAt - killedAt) / 1000).toFixed(1)} s after the kill`)

  // Every agent is back once its latest welcome is later than the kill.
  let latest = await pool.welcomes()
  const deadline = now() + WAIT_S * 1000
  while (latest.at.filter((t) => t > killedAt).length < N && now() < deadline) {
    await new Promise((r) => setTimeout(r, 250))
    latest = await pool.welcomes()
  }
  const back = latest.at.filter((t) => t > killedAt)
  // A welcome can precede our first 200 from /health by up to one poll (50 ms): counted as 0.
  const delaysMs = back.map((t) => Math.max(0, t - readyAt))
  const alive = master.alive()
  await pool.closeAll()
  printRestartReport({
    agents: N,
    procs: PROCS,
    backoff,
    masterDownS: (readyAt - killedAt) / 1000,
    delaysMs,
    missing: N - back.length,
    redials: latest.redials,
    masterAlive: alive,
  })
}

main().then(
  () => cleanup().then(() => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    void cleanup().finally(() => process.exit(1))
  },
)
