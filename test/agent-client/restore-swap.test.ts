// A switch's rollback restores its snapshot into a fresh database and swaps it in only once it is loaded and its
// row counts verified: on real MariaDB and PostgreSQL, a restore that fails half-way (or whose copy is short) leaves
// the live database exactly as it was and nothing set aside behind; a restore that succeeds leaves the rows of the
// snapshot, with the client's database name, user, grants, views and triggers as they were.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { dbNameForSlug, type DbEngine } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAdminFor } from '../../packages/agent/src/drivers/database.ts'
import { RestoreFailure } from '../../packages/agent/src/drivers/database-restore.ts'
import { mariadbAs, pgAs } from '../security/tenant-access.ts'
import { allLines, startAgentClientEnv, type AgentClientEnv } from './harness.ts'

let env: AgentClientEnv
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alfa-restore-swap-'))
const table: string[] = []
beforeAll(async () => {
  env = await startAgentClientEnv({ ALFA_AGENT_HEALTH_TIMEOUT_MS: '6000' })
})
afterAll(async () => {
  console.log(
    `\nengine     | case                               | live database after | set aside left\n${table.join('\n')}`,
  )
  await env?.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** As the tenant: `items` (40 rows), a view on it and (MariaDB) a trigger that upper-cases what is inserted. */
async function seeded(slug: string, engine: DbEngine) {
  const p = env.createPayload(slug, { dbEngine: engine })
  const created = await env.run('client.create', p)
  expect(created.result, allLines(created)).toMatchObject({ ok: true })
  await tenant(slug, engine, [
    engine === 'mariadb'
      ? 'CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(40))'
      : 'CREATE TABLE items (id serial PRIMARY KEY, v text)',
    ...Array.from({ length: 40 }, (_, i) => `INSERT INTO items (v) VALUES ('row ${i}')`),
    'CREATE VIEW items_view AS SELECT id, v FROM items',
    ...(engine === 'mariadb'
      ? ['CREATE TRIGGER items_upper BEFORE INSERT ON items FOR EACH ROW SET NEW.v = UPPER(NEW.v)']
      : []),
  ])
  return p
}

/** Runs statements as the tenant (its own login, as the app would). */
async function tenant(slug: string, engine: DbEngine, statements: string[]): Promise<unknown[][]> {
  const out: unknown[][] = []
  if (engine === 'mariadb') {
    const c = await mariadbAs(env, slug, 'tenant')
    try {
      for (const s of statements) out.push((await c.query(s))[0] as unknown[])
    } finally {
      await c.end()
    }
  } else {
    const c = await pgAs(env, slug, 'tenant')
    try {
      for (const s of statements) out.push((await c.query(s)).rows)
    } finally {
      await c.end()
    }
  }
  return out
}

const count = async (slug: string, engine: DbEngine, sql: string) =>
  Number(Object.values((((await tenant(slug, engine, [sql]))[0] ?? [])[0] ?? {}) as Record<string, unknown>)[0])

async function dumpOf(slug: string, engine: DbEngine, name: string): Promise<string> {
  const file = path.join(dir, `${name}.sql`)
  fs.writeFileSync(file, '', { mode: 0o600 })
  await dbAdminFor(engine, env.deps).dump(dbNameForSlug(slug), file)
  return file
}

/** The live database after a failed restore: the 10 rows and the table added since the dump are all still there. */
async function liveUntouched(slug: string, engine: DbEngine): Promise<boolean> {
  const items = await count(slug, engine, 'SELECT COUNT(*) FROM items')
  const migrated = await count(slug, engine, 'SELECT COUNT(*) FROM migrated')
  return items === 50 && migrated === 1
}

describe.each(['mariadb', 'postgresql'] as const)('restore into a fresh database and swap (%s)', (engine) => {
  const slug = engine === 'mariadb' ? 'swap-maria' : 'swap-pg'
  const db = () => dbAdminFor(engine, env.deps)
  let snapshot: string
  let before: Record<string, number>

  beforeAll(async () => {
    await seeded(slug, engine)
    before = await db().rowCounts(dbNameForSlug(slug))
    snapshot = await dumpOf(slug, engine, `${slug}-snapshot`)
    // What a failed migration leaves: more rows and a table the snapshot does not have.
    await tenant(slug, engine, [
      ...Array.from({ length: 10 }, (_, i) => `INSERT INTO items (v) VALUES ('late ${i}')`),
      'CREATE TABLE migrated (id int)',
      'INSERT INTO migrated VALUES (1)',
    ])
  })

  it('a copy short of the snapshot is never swapped in', async () => {
    const key = engine === 'mariadb' ? 'items' : 'public.items'
    const expected = { min: { ...before, [key]: 41 }, max: { ...before, [key]: 41 } }
    const failure = await db()
      .restore(dbNameForSlug(slug), snapshot, { expected })
      .catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(RestoreFailure)
    expect((failure as RestoreFailure).step).toBe('restore-verify')
    expect((failure as Error).message).toContain(`${key}: 40 rows (snapshot 41)`)
    const untouched = await liveUntouched(slug, engine)
    const aside = await db().asideOf(dbNameForSlug(slug))
    table.push(
      `${engine.padEnd(10)} | copy short of the snapshot (verify) | ${untouched ? 'untouched' : 'CHANGED'} | ${aside.length}`,
    )
    expect(untouched).toBe(true)
    expect(aside).toEqual([])
  })

  it('a restore that fails half-way through loading leaves the live database untouched', async () => {
    let broken: string
    if (engine === 'mariadb') {
      // A dump that breaks after its first table's rows (its completion line kept, so only loading finds it).
      const text = fs.readFileSync(snapshot, 'utf8')
      const cut = text.indexOf('UNLOCK TABLES;') + 'UNLOCK TABLES;'.length
      broken = path.join(dir, `${slug}-broken.sql`)
      fs.writeFileSync(broken, `${text.slice(0, cut)}\nINSERT INTO no_such_table VALUES (1);\n${text.slice(cut)}`, {
        mode: 0o600,
      })
    } else {
      // A CHECK that holds in the live database and fails in any other after the 25th row: the load stops half-way.
      await tenant(slug, engine, [
        `CREATE FUNCTION only_here(n int) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN
           RETURN n <= 25 OR current_database() = '${dbNameForSlug(slug)}'; END $$`,
        'CREATE TABLE guarded (n int CHECK (public.only_here(n)))',
        'INSERT INTO guarded SELECT generate_series(1, 50)',
      ])
      broken = await dumpOf(slug, engine, `${slug}-guarded`)
      await tenant(slug, engine, ['DROP TABLE guarded', 'DROP FUNCTION only_here'])
    }
    const failure = await db()
      .restore(dbNameForSlug(slug), broken)
      .catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(RestoreFailure)
    expect((failure as RestoreFailure).step).toBe('restore-load')
    const untouched = await liveUntouched(slug, engine)
    const aside = await db().asideOf(dbNameForSlug(slug))
    table.push(
      `${engine.padEnd(10)} | load fails half-way                 | ${untouched ? 'untouched' : 'CHANGED'} | ${aside.length}`,
    )
    expect(untouched).toBe(true)
    expect(aside).toEqual([])
  })

  it('a restore that succeeds leaves exactly the snapshot, with name, user, grants, view and trigger kept', async () => {
    const outcome = await db().restore(dbNameForSlug(slug), snapshot, { expected: { min: before, max: before } })
    const after = await db().rowCounts(dbNameForSlug(slug))
    expect(outcome.counts).toEqual(before)
    expect(after).toEqual(before)
    // The table the failed migration added went with the old content.
    await expect(count(slug, engine, 'SELECT COUNT(*) FROM migrated')).rejects.toThrow()
    // The tenant's own login still works in its database: reads the view, writes (MariaDB: through the trigger).
    expect(await count(slug, engine, 'SELECT COUNT(*) FROM items_view')).toBe(40)
    await tenant(slug, engine, ["INSERT INTO items (v) VALUES ('after')", 'CREATE TABLE made_after (id int)'])
    const last = (await tenant(slug, engine, ['SELECT v FROM items ORDER BY id DESC LIMIT 1']))[0]?.[0] as {
      v: string
    }
    expect(last.v).toBe(engine === 'mariadb' ? 'AFTER' : 'after')
    if (engine === 'postgresql') {
      const admin = await pgAs(env, slug, 'admin')
      try {
        const { rows } = await admin.query(
          `SELECT pg_get_userbyid(datdba) AS owner, has_database_privilege('public', datname, 'CONNECT') AS open
           FROM pg_database WHERE datname = $1`,
          [dbNameForSlug(slug)],
        )
        expect(rows).toEqual([{ owner: dbNameForSlug(slug), open: false }])
      } finally {
        await admin.end()
      }
    }
    const aside = await db().asideOf(dbNameForSlug(slug))
    table.push(
      `${engine.padEnd(10)} | restore succeeds                    | = snapshot (${Object.values(after).reduce((a, b) => a + b, 0)} rows) | ${aside.length}`,
    )
    expect(aside).toEqual([])
    expect(outcome.leftover).toEqual([])
  })
})
