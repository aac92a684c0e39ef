import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { applyMigrations, readMigrations } from '../../packages/master/src/db/migrate.ts'
import { pgClientSession } from '../../packages/master/src/db/migration-session.ts'
import { createLogger } from '../../packages/master/src/logger.ts'
import { copyMigrations } from '../support/database-fixture.ts'
import { createTestDatabase } from '../support/postgres.ts'

const logger = createLogger({ level: process.env.ALFA_TEST_LOG_LEVEL ?? 'silent' })

describe('applyMigrations with two replicas on one PostgreSQL', () => {
  const clients: pg.Client[] = []
  let migrationsDir: string | undefined
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()))
    if (migrationsDir) await rm(migrationsDir, { recursive: true, force: true })
  })

  it('lets exactly one replica apply; the other waits and then finds nothing pending', async () => {
    migrationsDir = await copyMigrations()
    // A slow last step widens the window in which an unlocked second replica would start the same work.
    const slow = path.join(migrationsDir, '29991231000000_slow')
    await mkdir(slow)
    await writeFile(path.join(slow, 'migration.sql'), 'SELECT pg_sleep(1);\n')
    const local = await readMigrations(migrationsDir)

    const url = await createTestDatabase(inject('postgresAdminUrl'))
    for (let i = 0; i < 2; i++) {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      clients.push(client)
    }
    const dir = migrationsDir
    const results = await Promise.all(
      clients.map((client) => applyMigrations({ session: pgClientSession(client), migrationsDir: dir, logger })),
    )

    expect(results.map((r) => r.applied.length).sort()).toEqual([0, local.length])
    const rows = await clients[0]!.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name',
    )
    expect(rows.rows.map((r) => r.migration_name)).toEqual(local.map((m) => m.name))
  })
})
