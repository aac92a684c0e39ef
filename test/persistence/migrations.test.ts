import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MigrationError, MigrationErrorCode, readMigrations } from '../../packages/master/src/db/migrate.ts'
import { DEFAULT_MIGRATIONS_DIR } from '../../packages/master/src/db/open-database.ts'
import { backends } from '../support/backends.ts'
import { copyMigrations, createDatabaseFixture, type DatabaseFixture } from '../support/database-fixture.ts'

interface MigrationRow {
  id: string
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
  applied_steps_count: number
}

const MIGRATION_ROWS = 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name'
const TABLE_EXISTS = 'SELECT to_regclass($1) IS NOT NULL AS present'

describe.each(backends())('migrations on $name', (backend) => {
  let fixture: DatabaseFixture
  let migrationsDir: string | undefined

  beforeEach(async () => {
    fixture = await createDatabaseFixture(backend)
    migrationsDir = undefined
  })
  afterEach(async () => {
    await fixture.dispose()
    if (migrationsDir) await rm(migrationsDir, { recursive: true, force: true })
  })

  it('applies every migration once, recorded as Prisma Migrate records it, and nothing on a second start', async () => {
    const local = await readMigrations(DEFAULT_MIGRATIONS_DIR)
    expect(local.length).toBeGreaterThan(0)

    await (await fixture.open()).close()
    const first = await fixture.query<MigrationRow>(MIGRATION_ROWS)
    expect(first.map((r) => [r.migration_name, r.checksum])).toEqual(local.map((m) => [m.name, m.checksum]))
    for (const row of first) {
      expect(row.finished_at).toBeInstanceOf(Date)
      expect(row.rolled_back_at).toBeNull()
      expect(row.applied_steps_count).toBe(1)
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/)
    }

    const db = await fixture.open()
    // The schema is really there: the client can use it.
    expect(await db.prisma.server.count()).toBe(0)
    await db.close()
    expect(await fixture.query<MigrationRow>(MIGRATION_ROWS)).toEqual(first)
  })

  it('stops on a failing migration, naming it and the database error, and leaves the database as it was', async () => {
    migrationsDir = await copyMigrations()
    await (await fixture.open(migrationsDir)).close()
    const before = await fixture.query<MigrationRow>(MIGRATION_ROWS)

    const broken = path.join(migrationsDir, '29991231000000_broken')
    await mkdir(broken)
    // The first statement succeeds, so only a rolled-back transaction can leave no trace of it.
    await writeFile(
      path.join(broken, 'migration.sql'),
      'CREATE TABLE "Partial" ("id" INTEGER);\nINSERT INTO "Server" ("id") VALUES (\'x\');\nSELECT * FROM "NoSuchTable";\n',
    )

    const failure = await fixture.open(migrationsDir).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(MigrationError)
    expect((failure as MigrationError).code).toBe(MigrationErrorCode.failed)
    expect((failure as MigrationError).migrationName).toBe('29991231000000_broken')
    expect((failure as Error).message).toMatch(/migration 29991231000000_broken failed and was rolled back: .+/)
    expect((failure as Error).message).toMatch(/uuid|NoSuchTable/)

    expect(await fixture.query(TABLE_EXISTS, ['"Partial"'])).toEqual([{ present: false }])
    expect(await fixture.query<MigrationRow>(MIGRATION_ROWS)).toEqual(before)

    // Once the migration is fixed the next start applies it.
    await writeFile(path.join(broken, 'migration.sql'), 'CREATE TABLE "Partial" ("id" INTEGER);\n')
    await (await fixture.open(migrationsDir)).close()
    expect(await fixture.query(TABLE_EXISTS, ['"Partial"'])).toEqual([{ present: true }])
    expect((await fixture.query<MigrationRow>(MIGRATION_ROWS)).map((r) => r.migration_name)).toContain(
      '29991231000000_broken',
    )
  })

  it('refuses to start when an applied migration was edited afterwards', async () => {
    migrationsDir = await copyMigrations()
    await (await fixture.open(migrationsDir)).close()
    const [first] = (await readdir(migrationsDir, { withFileTypes: true })).filter((e) => e.isDirectory())
    if (!first) throw new Error('no migration folder to edit')
    await appendFile(path.join(migrationsDir, first.name, 'migration.sql'), '\n-- edited after the fact\n')

    await expect(fixture.open(migrationsDir)).rejects.toMatchObject({
      code: MigrationErrorCode.checksumMismatch,
      migrationName: first.name,
      message: expect.stringMatching(/was changed after it was applied/),
    })
  })
})
