import { PGlite } from '@electric-sql/pglite'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations } from '../db/migrate.ts'
import { pgliteSession } from '../db/migration-session.ts'
import { DEFAULT_MIGRATIONS_DIR } from '../db/open-database.ts'
import { pgliteSql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { createAuditLog } from './audit-log.ts'

// The audit row's one statement, on the real schema (PGlite with every migration applied).
const db = new PGlite()
const logger = pino({ level: 'silent' })
beforeAll(() => applyMigrations({ session: pgliteSession(db), migrationsDir: DEFAULT_MIGRATIONS_DIR, logger }), 180_000)
afterAll(() => db.close())

describe('audit log record', () => {
  it('stores one row per change, its time in UTC', async () => {
    const audit = createAuditLog({ prisma: {} as PrismaClient, sql: pgliteSql(db), logger })
    const before = Date.now()
    await audit.record({
      actor: 'admin',
      address: '10.0.0.7',
      method: 'POST',
      route: '/clients/:id/reboot',
      targetId: '00000000-0000-4000-8000-000000000001',
      status: 200,
    })
    await audit.record({ actor: null, address: '::1', method: 'DELETE', route: '/x', targetId: null, status: 401 })
    const rows = await pgliteSql(db).query<{ at: Date; actor: string | null; route: string; status: number }>(
      `SELECT at, actor, address, method, route, "targetId", status FROM "AuditEntry" ORDER BY id`,
    )
    expect(rows).toMatchObject([
      { actor: 'admin', address: '10.0.0.7', method: 'POST', route: '/clients/:id/reboot', status: 200 },
      { actor: null, address: '::1', method: 'DELETE', targetId: null, status: 401 },
    ])
    expect(rows[0]!.at.getTime()).toBeGreaterThanOrEqual(before - 1)
    expect(rows[0]!.at.getTime()).toBeLessThanOrEqual(Date.now())
  }, 60_000)
})
