// Servers and agent credentials written straight into the database (N enrollments over HTTP would only measure
// enrollment). The secrets are generated here; the database holds their hashes, exactly as enrollment stores them.
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import { hashSecret } from '../../packages/master/src/agent-hub/agent-credentials.ts'
import { openDatabase, type Database } from '../../packages/master/src/db/open-database.ts'
import { createLogger } from '../../packages/master/src/logger.ts'
import { createTestDatabase, startPostgres } from '../../test/support/postgres.ts'
import { makeTempDir } from '../../test/support/process.ts'
import { onCleanup } from './cleanup.ts'
import type { SimIdentity } from './sim-protocol.ts'

const CHUNK = 2_000

/**
 * A temp dir, a private PostgreSQL with a fresh database and the master's own connection to it (migrations
 * applied), each removed at exit. `log` says what is starting.
 */
export async function startBenchDatabase(name: string, log: (line: string) => void) {
  const tmp = await makeTempDir(name)
  onCleanup(() => fs.rm(tmp, { recursive: true, force: true }))
  log('starting PostgreSQL')
  const postgres = await startPostgres()
  onCleanup(() => postgres.stop())
  const databaseUrl = await createTestDatabase(postgres.url)
  const db = await openDatabase({ databaseUrl, dataDir: tmp, logger: createLogger({ level: 'warn' }) })
  onCleanup(() => db.close())
  return { tmp, databaseUrl, db }
}

export async function seedAgents(db: Database, count: number, prefix: string): Promise<SimIdentity[]> {
  const agents: SimIdentity[] = Array.from({ length: count }, () => ({
    serverId: randomUUID(),
    secret: randomBytes(32).toString('base64url'),
  }))
  for (let i = 0; i < agents.length; i += CHUNK) {
    const chunk = agents.slice(i, i + CHUNK)
    await db.prisma.server.createMany({
      data: chunk.map((a, k) => ({
        id: a.serverId,
        name: `${prefix}-${String(i + k).padStart(5, '0')}`,
        host: '127.0.0.1',
        baseDomain: 'bench.test',
      })),
    })
    await db.prisma.agentCredential.createMany({
      data: chunk.map((a) => ({ serverId: a.serverId, secretHash: hashSecret(a.secret) })),
    })
  }
  return agents
}

/**
 * How many metrics frames the master had stored, by the agents' own counter: each agent puts its cumulative frame
 * count in net.rxBytes, so the sum over the stored latest samples equals the frames ingested once flushed.
 */
export async function storedFrameCount(db: Database): Promise<{ servers: number; frames: number }> {
  const rows = await db.prisma.$queryRawUnsafe<{ servers: number; frames: string }[]>(
    `SELECT count(*)::int AS servers, coalesce(sum((sample->'host'->'net'->>'rxBytes')::bigint), 0)::text AS frames
       FROM "ServerMetrics"`,
  )
  return { servers: rows[0]?.servers ?? 0, frames: Number(rows[0]?.frames ?? 0) }
}

/**
 * Transactions committed in this database so far, as PostgreSQL's statistics report them (every one, reads too; a
 * backend reports its count when idle, up to 10 s late), and write transactions so far: the next transaction id,
 * exact at once (only a transaction that writes takes an id; the bench's private cluster has no other writer).
 */
export async function committedTransactions(db: Database): Promise<{ all: number; writes: number }> {
  const rows = await db.prisma.$queryRawUnsafe<{ n: string; xid: string }[]>(
    `SELECT xact_commit::text AS n, pg_snapshot_xmax(pg_current_snapshot())::text AS xid
       FROM pg_stat_database WHERE datname = current_database()`,
  )
  return { all: Number(rows[0]?.n ?? 0), writes: Number(rows[0]?.xid ?? 0) }
}
