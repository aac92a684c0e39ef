import { PGlite } from '@electric-sql/pglite'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { pgliteSql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { NotFound } from '../errors.ts'
import type { OperationLogWriter } from './operation-log-writer.ts'
import { createOperationService } from './operation-service.ts'

// The step statement alone, on a real PostgreSQL (PGlite) table with the columns it touches.
const db = new PGlite()
afterAll(() => db.close())
let tick = 0
const service = createOperationService({
  prisma: {} as PrismaClient, // step() goes straight through the driver
  sql: pgliteSql(db),
  clock: { now: () => new Date(Date.UTC(2026, 0, 1) + (tick += 1000)) },
  logger: pino({ level: 'silent' }),
  logs: {} as OperationLogWriter,
})
const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString()
const ID = '00000000-0000-4000-8000-000000000001'

async function steps(id: string) {
  const { rows } = await db.query<{ steps: unknown }>(`SELECT steps FROM "Operation" WHERE id = $1`, [id])
  return rows[0]?.steps
}

describe('operations.step: one statement per progress frame', () => {
  it('updates the named step in place, keeps the first startedAt, appends an unplanned one', async () => {
    await db.exec(
      `CREATE TABLE "Operation" (id uuid PRIMARY KEY, steps jsonb NOT NULL DEFAULT '[]', "updatedAt" timestamp(3))`,
    )
    await db.query(`INSERT INTO "Operation" (id, steps) VALUES ($1, $2)`, [
      ID,
      JSON.stringify([
        { name: 'a', status: 'pending' },
        { name: 'b', status: 'pending' },
      ]),
    ])
    await service.step(ID, 'a', 'running') // 1 s
    await service.step(ID, 'a', 'running') // 2 s: a repeat keeps the first start
    await service.step(ID, 'a', 'done') // 3 s
    await service.step(ID, 'extra', 'running') // 4 s
    await service.step(ID, 'b', 'failed') // 5 s
    expect(await steps(ID)).toEqual([
      { name: 'a', status: 'done', startedAt: at(1), endedAt: at(3) },
      { name: 'b', status: 'failed', endedAt: at(5) },
      { name: 'extra', status: 'running', startedAt: at(4) },
    ])
  }, 180_000)

  it('adds the first step to an empty list, and refuses an unknown operation', async () => {
    const id = '00000000-0000-4000-8000-000000000002'
    await db.query(`INSERT INTO "Operation" (id) VALUES ($1)`, [id])
    await service.step(id, 'only', 'skipped')
    expect(await steps(id)).toEqual([{ name: 'only', status: 'skipped', endedAt: at(6) }])
    await expect(service.step('00000000-0000-4000-8000-000000000009', 'x', 'done')).rejects.toBeInstanceOf(NotFound)
  }, 180_000)
})
