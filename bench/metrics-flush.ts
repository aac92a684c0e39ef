// bench/metrics-flush: the cost of the metrics store's periodic database writes, in-process and isolated from the
// network, for N servers: the latest sample of each (once a minute) and one finished minute's rollup of each. Wall time
// and the master's CPU: the CPU is what the event loop cannot spend on requests meanwhile.
//   npx -y pnpm@12.4.2 exec tsx bench/metrics-flush.ts [--servers 15000] [--rounds 5]
import fs from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { MetricsSample } from '@alfa/protocol'
import { benchArgs } from './lib/cli-args.ts'
import { systemClock } from '../packages/master/src/clock.ts'
import { openDatabase } from '../packages/master/src/db/open-database.ts'
import { createLogger } from '../packages/master/src/logger.ts'
import { createMetricsStore } from '../packages/master/src/metrics/metrics-store.ts'
import { createTestDatabase, startPostgres } from '../test/support/postgres.ts'
import { makeTempDir } from '../test/support/process.ts'
import { cleanup, installExitHandlers, onCleanup } from './lib/cleanup.ts'
import { seedAgents } from './lib/seed.ts'
import { metricsFrameText } from './lib/sim-frames.ts'

const { values: opt } = parseArgs({
  args: benchArgs(),
  options: { servers: { type: 'string', default: '15000' }, rounds: { type: 'string', default: '5' } },
})
const N = Math.min(50_000, Math.max(1, Number(opt.servers) || 15_000))
const ROUNDS = Math.min(50, Math.max(1, Number(opt.rounds) || 5))

const cpuNow = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function timed(fn: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number }> {
  const [w0, c0] = [performance.now(), cpuNow()]
  await fn()
  return { wallMs: Math.round(performance.now() - w0), cpuMs: Math.round(cpuNow() - c0) }
}

async function main() {
  installExitHandlers(10 * 60_000)
  const tmp = await makeTempDir('bench-flush')
  onCleanup(() => fs.rm(tmp, { recursive: true, force: true }))
  const postgres = await startPostgres()
  onCleanup(() => postgres.stop())
  const logger = createLogger({ level: 'warn' })
  const db = await openDatabase({ databaseUrl: await createTestDatabase(postgres.url), dataDir: tmp, logger })
  onCleanup(() => db.close())
  const agents = await seedAgents(db, N, 'flush')
  const store = createMetricsStore({ prisma: db.prisma, sql: db.sql, clock: systemClock, logger })
  const sample = (ts: number) => JSON.parse(metricsFrameText(ts, 1)) as MetricsSample & { kind?: string }

  const minute = Math.floor(Date.now() / 60_000) * 60_000
  for (let r = 0; r < ROUNDS; r++) {
    // Samples of minute r, then one of minute r + 1 closes it: the next flush writes N rollups.
    for (const a of agents) store.ingest(a.serverId, sample(minute + r * 60_000 + 1_000))
    for (const a of agents) store.ingest(a.serverId, sample(minute + (r + 1) * 60_000 + 1_000))
    const both = await timed(() => store.flush())
    for (const a of agents) store.ingest(a.serverId, sample(minute + (r + 1) * 60_000 + 2_000))
    const latestOnly = await timed(() => store.flush())
    process.stdout.write(
      `round ${r + 1}: ${N} servers  latest + rollups ${JSON.stringify(both)}  latest only ${JSON.stringify(latestOnly)}\n`,
    )
  }
  const [{ rollups }] = await db.prisma.$queryRawUnsafe<[{ rollups: number }]>(
    'SELECT count(*)::int AS rollups FROM "MetricRollup"',
  )
  process.stdout.write(`stored: ${rollups} rollups (expected ${N * ROUNDS})\n`)
}

main().then(
  () => cleanup().then(() => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    void cleanup().finally(() => process.exit(1))
  },
)
