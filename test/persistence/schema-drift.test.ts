import { appendFile, copyFile, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { diffMigrationsAgainstSchema } from '../../packages/master/src/db/schema-diff.ts'
import { DEFAULT_MIGRATIONS_DIR } from '../../packages/master/src/db/open-database.ts'

const SCHEMA_PATH = path.resolve(DEFAULT_MIGRATIONS_DIR, '..', 'schema.prisma')

describe('prisma/migrations against schema.prisma', () => {
  const temps: string[] = []
  afterAll(async () => {
    await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })))
  })

  it('agree: replaying the migrations yields exactly the schema (run scripts/prisma-diff.ts --create if not)', async () => {
    const diff = await diffMigrationsAgainstSchema({ migrationsDir: DEFAULT_MIGRATIONS_DIR, schemaPath: SCHEMA_PATH })
    expect(diff.sql).not.toMatch(/CREATE|ALTER|DROP/)
    expect(diff.drift).toBe(false)
  })

  it('reports drift, with the missing SQL, when the schema has a model no migration creates', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'alfa-schema-'))
    temps.push(dir)
    const schemaPath = path.join(dir, 'schema.prisma')
    await copyFile(SCHEMA_PATH, schemaPath)
    await appendFile(schemaPath, '\nmodel DriftProbe {\n  id Int @id\n}\n')

    const diff = await diffMigrationsAgainstSchema({ migrationsDir: DEFAULT_MIGRATIONS_DIR, schemaPath })
    expect(diff.drift).toBe(true)
    expect(diff.sql).toMatch(/CREATE TABLE "DriftProbe"/)
  })
})
