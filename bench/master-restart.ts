// bench/master-restart: N agents (the real agent connection module, in a few processes) connected to a real master
// child process on PostgreSQL; the master is killed (SIGKILL) and started again, and the bench measures how long each
// agent takes to be welcomed again after the master answers /health. Prints a histogram and a JSON line.
//   npx -y pnpm@12.4.2 exec tsx bench/master-restart.ts [--agents 1000] [--procs 2]
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort } from '../test/support/ports.ts'
import { tailFile } from '../test/support/process.ts'
import { cleanup, installExitHandlers, onCleanup, trackChild } from './lib/cleanup.ts'
import { startMasterProcess, type MasterProcess } from './lib/master-process.ts'
import type { RestartFromWorker, RestartToWorker } from './lib/restart-worker.ts'
import { seedAgents, startBenchDatabase } from './lib/seed.ts'
import { benchArgs } from './lib/cli-args.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const WORKER = fileURLToPath(new URL('./lib/restart-worker.ts', import.meta.url))
const { values: opt } = parseArgs({
  args: benchArgs(),
  options: {
    agents: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '2' },
    // The agent's own defaults (README: ALFA_AGENT_BACKOFF_BASE_MS / _MAX_MS).
    'backoff-base-ms': { type: 'string', default: '500' },
    'backoff-max-ms': { type: 'string', default: '30000' },
    'within-s': { type: 'string', default: '30' },
  },
})
const N = Number(opt.agents)
const PROCS = Number(opt.procs)
const WITHIN_MS = Number(opt['within-s']) * 1000
const started = Date.now()
const log = (line: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)

function ask(child: ChildProcess, msg: RestartToWorker): Promise<RestartFromWorker> {
  return new Promise((resolve) => {
    child.once('message', (m: RestartFromWorker) => resolve(m))
    child.send(msg)
  })
}

async function welcomesPerAgent(workers: ChildProcess[]): Promise<number[][]> {
  const reports = await Promise.all(workers.map((w) => ask(w, { type: 'report' })))
  return reports.flatMap((r) => (r.type === 'report' ? r.welcomes : []))
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 250))
  }
  return false
}

async function main() {
  installExitHandlers(15 * 60_000)
  const { tmp, databaseUrl, db } = await startBenchDatabase('bench-restart', log)
  log(`seeding ${N} servers and agent credentials`)
  const agents = await seedAgents(db, N, 'restart')
  const masterDir = path.join(tmp, 'master')
  await fs.mkdir(masterDir)
  const port = await freePort()
  const masterOpts = {
    cwd: ROOT,
    port,
    dataDir: masterDir,
    databaseUrl,
    user: 'bench',
    password: randomBytes(24).toString('base64url'),
  }
  log('starting the master')
  let master: MasterProcess = await startMasterProcess(masterOpts)
  const wsUrl = `ws://127.0.0.1:${port}/agent`

  const workers = Array.from({ length: PROCS }, () => {
    const child = fork(WORKER, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    trackChild(child)
    return child
  })
  onCleanup(async () => {
    await Promise.all(workers.map((w) => (w.connected ? ask(w, { type: 'stop' }) : undefined)))
  })
  const base = Number(opt['backoff-base-ms'])
  const max = Number(opt['backoff-max-ms'])
  await Promise.all(
    workers.map((w, i) =>
      ask(w, {
        type: 'start',
        wsUrl,
        agents: agents.filter((_, k) => k % PROCS === i),
        backoffBaseMs: base,
        backoffMaxMs: max,
      }),
    ),
  )
  const allWelcomed = (count: number) => async () => (await welcomesPerAgent(workers)).every((w) => w.length >= count)
  log(`connecting ${N} agents`)
  if (!(await waitFor(allWelcomed(1), 120_000))) {
    const connected = (await welcomesPerAgent(workers)).filter((w) => w.length > 0).length
    throw new Error(`${connected}/${N} agents connected at first\n${await tailFile(master.logFile)}`)
  }
  log('all connected; holding 12 s so the connections count as stable (the agent then resets its backoff)')
  await new Promise((r) => setTimeout(r, 12_000))

  log('killing the master (SIGKILL)')
  const killedAt = Date.now()
  master.child.kill('SIGKILL')
  await new Promise((r) => master.child.once('exit', r))
  master = await startMasterProcess(masterOpts)
  const upAt = Date.now()
  log(`master answers /health again ${upAt - killedAt} ms after the kill`)
  await waitFor(allWelcomed(2), 90_000)
  const welcomes = await welcomesPerAgent(workers)
  const delays = welcomes.map((w) => (w.length >= 2 ? w[1]! - upAt : Number.POSITIVE_INFINITY)).sort((a, b) => a - b)
  const back = delays.filter((d) => Number.isFinite(d))
  const within = delays.filter((d) => d <= WITHIN_MS).length
  const pct = (p: number) => Math.round(back[Math.min(back.length - 1, Math.floor((p / 100) * back.length))] ?? NaN)

  const buckets = [1, 2, 5, 10, 15, 20, 30, 45, 60]
  console.log(`\nmaster restart with ${N} connected agents (backoff ${base}..${max} ms, full jitter)`)
  console.log(`master down for ${upAt - killedAt} ms (kill → /health); delays below are from /health to welcome`)
  console.log('delay (s)   agents')
  let from = Number.NEGATIVE_INFINITY
  for (const b of buckets) {
    const n = delays.filter((d) => d > from && d <= b * 1000).length
    console.log(`${`≤ ${b}`.padEnd(10)}  ${String(n).padStart(5)}  ${'#'.repeat(Math.round((n / N) * 60))}`)
    from = b * 1000
  }
  const later = delays.filter((d) => d > from).length
  console.log(`${'later/never'.padEnd(10)}  ${String(later).padStart(5)}`)
  console.log(
    `back: ${back.length}/${N}; within ${WITHIN_MS / 1000} s: ${within}/${N}; p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${Math.round(back.at(-1) ?? NaN)} ms`,
  )
  console.log(
    JSON.stringify({
      bench: 'master-restart',
      agents: N,
      downMs: upAt - killedAt,
      back: back.length,
      withinTarget: within,
      targetMs: WITHIN_MS,
      p50Ms: pct(50),
      p90Ms: pct(90),
      p99Ms: pct(99),
      maxMs: Math.round(back.at(-1) ?? NaN),
    }),
  )
}

main().then(
  () => cleanup().then(() => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    void cleanup().finally(() => process.exit(1))
  },
)
