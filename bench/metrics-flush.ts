// bench/metrics-flush: the cost of the metrics store's periodic database write, in-process and isolated from the
// network, for N servers that each reported one sample. Compares the master's statement (3 bind parameters per row)
// with the same UPDATE fed by one jsonb parameter, to size a proposed fix.
//   npx -y pnpm@12.4.2 exec tsx bench/metrics-flush.ts [--servers 15000] [--rounds 5]
import fs from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { MetricsSample } from '@alfa/protocol'
import { systemClock } from '../packages/master/src/clock.ts'
import { openDatabase } from '../packages/master/src/db/open-database.ts'
import { createLogger } from '../packages/master/src/logger.ts'
import { createMetricsStore } from '../packages/master/src/metrics/metrics-store.ts'
import { createTestDatabase, startPostgres } from '../test/support/postgres.ts'
import { makeTempDir } from '../test/support/process.ts'
import { cleanup, installExitHandlers, onCleanup } from './lib/cleanup.ts'
import { seedAgents } from './lib/seed.ts'
import { metricsFrameText } from './lib/sim-frames.ts'

const { values: opt } = parseArgs({ options: { servers: { type: 'string', default: '15000' }, rounds: { type: 'string', default: '5' } } })
const N = Math.min(50_000, Math.max(1, Number(opt.servers) || 15_000))
const ROUNDS = Math.min(50, Math.max(1, Number(opt.rounds) || 5))

const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }

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
  const store = createMetricsStore({ prisma: db.prisma, clock: systemClock, logger })
  const sample = () => JSON.parse(metricsFrameText(Date.now(), 1)) as MetricsSample & { kind?: string }

  for (let r = 0; r < ROUNDS; r++) {
    for (const a of agents) store.ingest(a.serverId, sample())
    const current = await timed(() => store.flush())
    // The proposed statement: all rows in one jsonb parameter, expanded by PostgreSQL instead of 3 N bind parameters.
    const rows = agents.map((a) => ({ id: a.serverId, m: store.latest(a.serverId), t: new Date().toISOString() }))
    const oneParam = await timed(async () => {
      for (let i = 0; i < rows.length; i += 4_000) {
        await db.prisma.$executeRawUnsafe(
          `UPDATE "Server" AS s SET "lastMetrics" = v.m, "lastSeenAt" = v.t::timestamp(3)
             FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, m jsonb, t text) WHERE s.id = v.id`,
          JSON.stringify(rows.slice(i, i + 4_000)),
        )
      }
    })
    process.stdout.write(`round ${r + 1}: ${N} rows  current flush ${JSON.stringify(current)}  one jsonb parameter ${JSON.stringify(oneParam)}\n`)
  }
}

main().then(
  () => cleanup().then(() => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    void cleanup().finally(() => process.exit(1))
  },
)
