import { randomUUID } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations } from '../db/migrate.ts'
import { pgliteSession } from '../db/migration-session.ts'
import { DEFAULT_MIGRATIONS_DIR } from '../db/open-database.ts'
import { pgliteSql } from '../db/sql.ts'
import { insertGuardedClientOperation, type NewOperation } from './operation-insert.ts'

// The guarded insert of begin's action path, on the real schema (PGlite with every migration applied).
const db = new PGlite()
const sql = pgliteSql(db)
const logger = pino({ level: 'silent' })
const SERVER = randomUUID()
const GUARD = { exclusiveKinds: ['client.reboot', 'client.delete'], clientStatuses: ['active'] }
const now = new Date('2026-12-01T09:00:00.123Z')

beforeAll(async () => {
  await applyMigrations({ session: pgliteSession(db), migrationsDir: DEFAULT_MIGRATIONS_DIR, logger })
  await db.query(
    `INSERT INTO "Server" (id, name, host, "baseDomain", "updatedAt") VALUES ($1, 's1', 'h', 'b.test', now())`,
    [SERVER],
  )
}, 180_000)
afterAll(() => db.close())

async function client(status: string) {
  const id = randomUUID()
  const slug = `c${id.slice(0, 8)}`
  await db.query(
    `INSERT INTO "Client" (id, slug, name, domain, "serverId", status, "ownerLogin", "ownerEmail", "updatedAt")
     VALUES ($1, $2, $2, $2 || '.test', $3, $4::"ClientStatus", 'o', 'o@e.test', now())`,
    [id, slug, SERVER, status],
  )
  return id
}

const op = (clientId: string, kind = 'client.reboot'): NewOperation & { clientId: string } => ({
  kind,
  status: 'running',
  serverId: SERVER,
  clientId,
  requestedBy: 'admin',
  steps: [{ name: 'restart', status: 'pending' }],
  commandId: randomUUID(),
  command: { type: 'client.restart', payload: { slug: 'x' } },
  startedAt: now,
  deadlineAt: new Date(now.getTime() + 60_000),
})
const count = async (clientId: string) =>
  (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Operation" WHERE "clientId" = $1`, [clientId]))[0]!.n

describe('insertGuardedClientOperation', () => {
  it('inserts the row, in the ORM shape, when the client is active and idle', async () => {
    const id = await client('active')
    const found = await sql.transaction((tx) => insertGuardedClientOperation(tx, op(id), now, GUARD))
    if (!('operation' in found)) throw new Error(`refused: ${JSON.stringify(found)}`)
    expect(found.operation).toMatchObject({
      kind: 'client.reboot',
      status: 'running',
      clientId: id,
      steps: [{ name: 'restart', status: 'pending' }],
      command: { type: 'client.restart' },
      logSeq: 0,
      finishedAt: null,
    })
    expect(found.operation.startedAt).toEqual(now)
    expect(found.operation.createdAt).toEqual(now)
  }, 60_000)

  it('names the running exclusive operation and writes nothing', async () => {
    const id = await client('active')
    const first = await insertGuardedClientOperation(sql, op(id), now, GUARD)
    if (!('operation' in first)) throw new Error('first insert refused')
    const second = await insertGuardedClientOperation(sql, op(id, 'client.delete'), now, GUARD)
    expect(second).toEqual({ running: { id: first.operation.id, kind: 'client.reboot' } })
    expect(await count(id)).toBe(1)
  }, 60_000)

  it('ignores ended and non-exclusive operations of the client', async () => {
    const id = await client('active')
    await insertGuardedClientOperation(sql, op(id), now, GUARD)
    await db.query(`UPDATE "Operation" SET status = 'succeeded' WHERE "clientId" = $1`, [id])
    await insertGuardedClientOperation(sql, op(id, 'client.users_count'), now, GUARD)
    expect('operation' in (await insertGuardedClientOperation(sql, op(id), now, GUARD))).toBe(true)
  }, 60_000)

  it("says the client's status when it is not active, or null when there is no such client", async () => {
    const deleting = await client('deleting')
    expect(await insertGuardedClientOperation(sql, op(deleting), now, GUARD)).toEqual({ clientStatus: 'deleting' })
    expect(await count(deleting)).toBe(0)
    expect(await insertGuardedClientOperation(sql, op(randomUUID()), now, GUARD)).toEqual({ clientStatus: null })
  }, 60_000)

  it('rolls the transaction back when its body throws', async () => {
    const id = await client('active')
    await expect(
      sql.transaction(async (tx) => {
        await insertGuardedClientOperation(tx, op(id), now, GUARD)
        throw new Error('after the insert')
      }),
    ).rejects.toThrow('after the insert')
    expect(await count(id)).toBe(0)
  }, 60_000)
})
