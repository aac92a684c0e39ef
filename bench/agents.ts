// bench/agents: N simulated agents (real protocol over real WebSockets, in several processes) against a real master
// child process on PostgreSQL, and the same load against a raw baseline (bare ws + bare Hono route) for ratios.
//   npx -y pnpm@12.4.2 exec tsx bench/agents.ts [--agents N] [--procs P] [--duration S] [--topout] ...
// See bench/README.md for every option and how to read the figures.
import { loadavg } from 'node:os'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort } from '../test/support/ports.ts'
import { cleanup, installExitHandlers, trackChild } from './lib/cleanup.ts'
import { startBaselineTarget } from './lib/baseline-target.ts'
import { startMasterProcess } from './lib/master-process.ts'
import { runPairedRounds, type PairedResult } from './lib/paired-rounds.ts'
import { runPhase, type PhaseOptions, type Target } from './lib/phase.ts'
import { parentPid } from './lib/proc.ts'
import { benchArgs } from './lib/cli-args.ts'
import { printReport, type BenchReport } from './lib/report.ts'
import { committedTransactions, seedAgents, startBenchDatabase, storedFrameCount } from './lib/seed.ts'
import { SimPool } from './lib/sim-pool.ts'
import { findTopout } from './lib/topout.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const INTERVAL_MS = 5_000

const { values: opt } = parseArgs({
  args: benchArgs(),
  options: {
    agents: { type: 'string', default: '1000' },
    procs: { type: 'string' },
    duration: { type: 'string', default: '20' },
    requests: { type: 'string', default: '2000' },
    wave: { type: 'string', default: '500' },
    topout: { type: 'boolean', default: false },
    'topout-max': { type: 'string', default: '21000' },
    'skip-baseline': { type: 'boolean', default: false },
    /** Writes a V8 CPU profile of the master into this directory (kept after the run). */
    profile: { type: 'string' },
    /** Extra node flags for the master, space-separated, e.g. "--trace-gc" or "--max-semi-space-size=64". */
    'master-flags': { type: 'string' },
    /** ALFA_METRICS_FLUSH_MS for the master, e.g. 3600000 to measure ingest without database writes. */
    'flush-ms': { type: 'string' },
    'timeout-min': { type: 'string', default: '30' },
    'list-concurrency': { type: 'string', default: '10' },
    'command-concurrency': { type: 'string', default: '4' },
    /** Rounds of the in-flight commands, for the master and the baseline alike; the median round is kept. */
    'command-rounds': { type: 'string', default: '3' },
    /** Pairs of in-flight rounds, master and baseline in turns after both phases (paired-rounds.ts); 0: none. */
    pairs: { type: 'string', default: '5' },
  },
})

const int = (name: string, v: string | undefined, min: number, max: number) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`)
  return n
}
const N = int('agents', opt.agents, 1, 19_500)
const topoutMax = int('topout-max', opt['topout-max'], N, 25_000)
const mostAgents = opt.topout ? topoutMax : N
// ~6,000 sockets per simulator at most: far below the 20,000 open files each process may hold.
const PROCS = int('procs', opt.procs ?? String(Math.max(1, Math.ceil(mostAgents / 6_000))), 1, 16)
if (Math.ceil(mostAgents / PROCS) > 15_000)
  throw new Error(`--procs ${PROCS} would put more than 15,000 sockets in one simulator`)
const DURATION = int('duration', opt.duration, 5, 600)
const REQUESTS = int('requests', opt.requests, 10, 100_000)
const WAVE = int('wave', opt.wave, 1, 4_000)
const LIST_CONCURRENCY = int('list-concurrency', opt['list-concurrency'], 1, 256)
const COMMAND_CONCURRENCY = int('command-concurrency', opt['command-concurrency'], 1, 256)
const COMMAND_ROUNDS = int('command-rounds', opt['command-rounds'], 1, 15)
const PAIRS = int('pairs', opt.pairs, 0, 25)

const started = Date.now()
const log = (line: string) =>
  process.stderr.write(
    `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s, load ${loadavg()[0]!.toFixed(1)}] ${line}\n`,
  )

/**
 * Source addresses per run: ~28,000 ephemeral ports per address, and a run's closed sockets linger in TIME_WAIT. 32 of
 * them, because the master checks at most 64 upgrades of one address at a time (upgrade-throttle.ts maxParallel) and
 * answers the rest 429: with 8, a wave of 500 refused a fifth of the agents, whose commands then answered 503 fast.
 */
const addresses = (block: number, count = 32) => Array.from({ length: count }, (_, i) => `127.0.${block}.${i + 1}`)

async function main() {
  installExitHandlers(int('timeout-min', opt['timeout-min'], 1, 180) * 60_000)
  const { tmp, databaseUrl, db } = await startBenchDatabase('bench-agents', log)
  // Our backend's parent is the postmaster: its process tree is PostgreSQL's whole CPU.
  const [{ pid: backendPid }] = await db.prisma.$queryRawUnsafe<[{ pid: number }]>('SELECT pg_backend_pid() AS pid')
  const postgresPid = parentPid(backendPid) ?? 0
  log(`seeding ${N} servers and agent credentials`)
  const agents = await seedAgents(db, N, 'bench')

  const phase: Omit<PhaseOptions, 'localAddresses'> = {
    agents,
    wave: WAVE,
    intervalMs: INTERVAL_MS,
    durationS: DURATION,
    requests: REQUESTS,
    listConcurrency: LIST_CONCURRENCY,
    commandConcurrency: COMMAND_CONCURRENCY,
    commandRounds: COMMAND_ROUNDS,
    burstFramesPerAgent: Math.max(1, Math.min(200, Math.round(60_000 / N))),
    log,
  }

  // The baseline keeps its own fleet (and its process) until the paired rounds, idle in between: 15,000 quiet sockets.
  const masterPool = new SimPool(PROCS, ROOT, trackChild)
  let baseline: BenchReport['baseline']
  let baselineSide: { target: Target; stop: () => void; pool: SimPool } | undefined
  if (!opt['skip-baseline']) {
    baselineSide = { ...(await startBaselineTarget(ROOT, trackChild)), pool: new SimPool(PROCS, ROOT, trackChild) }
    baseline = await runPhase(baselineSide.target, baselineSide.pool, { ...phase, localAddresses: addresses(1) })
    if (PAIRS === 0) {
      await baselineSide.pool.closeAll()
      baselineSide.stop()
    }
  }

  const password = randomBytes(24).toString('base64url')
  const masterDir = path.join(tmp, 'master')
  await fs.mkdir(masterDir)
  const profileDir = opt.profile ? path.resolve(opt.profile) : undefined
  if (profileDir) await fs.mkdir(profileDir, { recursive: true })
  log('starting the master')
  const master = await startMasterProcess({
    cwd: ROOT,
    port: await freePort(),
    dataDir: masterDir,
    databaseUrl,
    user: 'bench',
    password,
    nodeFlags: [
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
      ...(opt['master-flags']?.split(' ').filter(Boolean) ?? []),
    ],
    ...(opt['flush-ms']
      ? { env: { ALFA_METRICS_FLUSH_MS: String(int('flush-ms', opt['flush-ms'], 100, 86_400_000)) } }
      : {}),
  })
  await new Promise((r) => setTimeout(r, 2_000)) // let start-up garbage be collected before the idle reading
  const target: Target = {
    name: 'master',
    httpUrl: master.url,
    wsUrl: `${master.url.replace('http', 'ws')}/agent`,
    pid: master.pid,
    listPath: '/servers?page[size]=20',
    commandPath: (a) => `/servers/${a.serverId}/images`,
    headers: { authorization: `Basic ${Buffer.from(`bench:${password}`).toString('base64')}` },
    ingested: async () => (await storedFrameCount(db)).frames,
    ingestLagMs: 65_000,
    dbTransactions: () => committedTransactions(db),
    ...(postgresPid > 0 ? { postgresPid } : {}),
  }
  const masterResult = await runPhase(target, masterPool, { ...phase, localAddresses: addresses(2) })

  let paired: PairedResult | undefined
  if (baselineSide && PAIRS > 0) {
    log(`paired rounds: ${PAIRS} pairs of ${REQUESTS} commands, ${COMMAND_CONCURRENCY} in flight`)
    paired = await runPairedRounds(
      {
        baseline: { ...baselineSide, agents },
        master: { target, pool: masterPool, agents },
      },
      {
        pairs: PAIRS,
        requests: REQUESTS,
        concurrency: COMMAND_CONCURRENCY,
        intervalMs: INTERVAL_MS,
        settleMs: 1_000,
        log,
      },
    )
    await baselineSide.pool.closeAll()
    baselineSide.stop()
  }

  let topout: BenchReport['topout']
  if (opt.topout && topoutMax > N) {
    log(`topout: seeding ${topoutMax - N} more agents and connecting them ${WAVE} at a time`)
    const extra = await seedAgents(db, topoutMax - N, 'topout')
    topout = await findTopout({
      pool: masterPool,
      wsUrl: target.wsUrl,
      httpUrl: master.url,
      pid: master.pid,
      alive: master.alive,
      extra,
      localAddresses: addresses(3),
      wave: WAVE,
      log,
    })
  }
  await masterPool.closeAll()
  if (!master.alive()) log(`the master died during the run; see its log above`)
  printReport({
    agents: N,
    procs: PROCS,
    durationS: DURATION,
    listConcurrency: LIST_CONCURRENCY,
    commandConcurrency: COMMAND_CONCURRENCY,
    database: 'postgresql',
    master: masterResult,
    ...(baseline ? { baseline } : {}),
    ...(paired ? { paired } : {}),
    ...(topout ? { topout } : {}),
  })
  if (profileDir) log(`master CPU profile (written when it stops) in ${profileDir}`)
}

main().then(
  () => cleanup().then(() => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    void cleanup().finally(() => process.exit(1))
  },
)
