// A move's MariaDB database crossing as its tables' InnoDB files (database-mariadb-tablespaces.ts), on a real
// MariaDB: exported under FOR EXPORT locks, imported into a fresh database of the client, swapped in, and the
// client's tables, rows, keys, AUTO_INCREMENT, view, trigger and routine are as they were; what cannot move so is
// named; a cut or foreign archive fails and leaves nothing behind. (Between two servers, the move tests.)
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { TRANSFER_INNODB_PREFIX, dbNameForSlug } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAdminFor } from '../../packages/agent/src/drivers/database.ts'
import { TABLESPACES_MARK } from '../../packages/agent/src/drivers/tablespaces-mark.ts'
import { tablespacesChoice } from '../../packages/agent/src/commands/transfer/tablespaces-choice.ts'
import { transferCapabilities } from '../../packages/agent/src/transfer/capabilities.ts'
import { mariadbAs } from '../security/tenant-access.ts'
import { exportWhole } from '../support/tablespaces-export.ts'
import { allLines, startAgentClientEnv, type AgentClientEnv } from './harness.ts'

let env: AgentClientEnv
beforeAll(async () => {
  env = await startAgentClientEnv({})
})
afterAll(async () => {
  await env?.stop()
})

const db = () => dbAdminFor('mariadb', env.deps)

async function asTenant(slug: string, statements: string[]): Promise<unknown[]> {
  const c = await mariadbAs(env, slug, 'tenant')
  try {
    const out: unknown[] = []
    for (const s of statements) out.push((await c.query(s))[0])
    return out
  } finally {
    await c.end()
  }
}

async function asAdmin<T>(work: (c: Awaited<ReturnType<typeof mariadbAs>>) => Promise<T>, slug: string) {
  const c = await mariadbAs(env, slug, 'admin')
  try {
    return await work(c)
  } finally {
    await c.end()
  }
}

async function created(slug: string) {
  const done = await env.run('client.create', env.createPayload(slug, { dbEngine: 'mariadb' }))
  expect(done.result, allLines(done)).toMatchObject({ ok: true })
}

/** The archive an export writes for `slug`'s `tables`, whole. */
async function exported(slug: string, tables: string[]): Promise<Buffer> {
  const sink = new PassThrough()
  const parts: Buffer[] = []
  sink.on('data', (p: Buffer) => parts.push(p))
  await exportWhole(db().tablespaces!, dbNameForSlug(slug), tables, sink)
  return Buffer.concat(parts)
}

/** Every table's CHECKSUM in `database`, by name. */
const checksums = (slug: string, database: string) =>
  asAdmin(async (c) => {
    const [tables] = (await c.query(
      "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
      [database],
    )) as unknown as [{ n: string }[]]
    const out: Record<string, string> = {}
    for (const { n } of tables) {
      const [[row]] = (await c.query(`CHECKSUM TABLE ${c.escapeId(database)}.${c.escapeId(n)}`)) as unknown as [
        { Checksum: unknown }[],
      ]
      out[n] = String(row!.Checksum)
    }
    return out
  }, slug)

const datadir = (slug: string) =>
  asAdmin(async (c) => ((await c.query('SELECT @@datadir AS d')) as unknown as [{ d: string }[]])[0][0]!.d, slug)

describe('a MariaDB database moved as its InnoDB files', () => {
  it('exports, imports and swaps in every table, row, key, counter, view, trigger and routine', async () => {
    await created('ts-a')
    const name = dbNameForSlug('ts-a')
    await asTenant('ts-a', [
      'CREATE TABLE parent (id INT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(100) CHARACTER SET utf8mb4, blob_v BLOB)',
      'CREATE TABLE child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL, note TEXT, KEY (note(10)), FOREIGN KEY (parent_id) REFERENCES parent(id))',
      ...Array.from(
        { length: 20 },
        (_, i) => `INSERT INTO parent (label, blob_v) VALUES ('p${i} ✓ 🧪', UNHEX('00FF${i}'))`,
      ),
      ...Array.from(
        { length: 60 },
        (_, i) => `INSERT INTO child (parent_id, note) VALUES (${(i % 19) + 1}, ${i % 7 ? `'n${i}'` : 'NULL'})`,
      ),
      'DELETE FROM parent WHERE id = 20',
      'CREATE VIEW busy AS SELECT parent_id, COUNT(*) AS n FROM child GROUP BY parent_id',
      'CREATE TRIGGER child_upper BEFORE INSERT ON child FOR EACH ROW SET NEW.note = UPPER(NEW.note)',
      'CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2',
    ])
    const can = await db().tablespaces!.exportable(name)
    expect(can).toEqual({ tables: expect.arrayContaining(['parent', 'child']) })
    const tables = (can as { tables: string[] }).tables
    const before = { rows: await db().rowCounts(name), sums: await checksums('ts-a', name) }
    const archive = await exported('ts-a', tables)
    expect(archive.subarray(0, TABLESPACES_MARK.length).equals(TABLESPACES_MARK)).toBe(true)
    // The export's locks and .cfg files are gone once it ended.
    expect(fs.readdirSync(path.join(await datadir('ts-a'), name)).filter((f) => f.endsWith('.cfg'))).toEqual([])

    const scratch = `${name}__restore_1`
    await db().loadStreamInto!(name, scratch, Readable.from([archive]), undefined, true)
    expect(await db().rowCounts(scratch)).toEqual(before.rows)
    expect(await checksums('ts-a', scratch)).toEqual(before.sums)
    // Imported, not left as files: no .cfg remains beside the tables.
    expect(fs.readdirSync(path.join(await datadir('ts-a'), scratch)).filter((f) => f.endsWith('.cfg'))).toEqual([])
    // The live database is emptied first, so that only the import can bring the rows back.
    await asTenant('ts-a', ['DELETE FROM child', 'DELETE FROM parent'])
    await db().swapLoaded!(name, scratch)
    expect(await db().rowCounts(name)).toEqual(before.rows)
    expect(await checksums('ts-a', name)).toEqual(before.sums)
    const [inserted, next, busy, twice, note] = await asTenant('ts-a', [
      "INSERT INTO parent (label) VALUES ('after')",
      "SELECT id FROM parent WHERE label = 'after'",
      'SELECT n FROM busy WHERE parent_id = 1',
      'SELECT twice(21) AS v',
      "INSERT INTO child (parent_id, note) VALUES (1, 'low'); SELECT 1",
    ])
    expect(inserted).toBeDefined()
    expect(next).toEqual([{ id: 21 }]) // the counter came with the table: 20 was deleted before, not reused
    expect(busy).toEqual([{ n: 4 }])
    expect(twice).toEqual([{ v: 42 }])
    expect(note).toBeDefined()
    expect(await asTenant('ts-a', ["SELECT note FROM child WHERE note = 'LOW'"])).toEqual([[{ note: 'LOW' }]])
    await expect(asTenant('ts-a', ['INSERT INTO child (parent_id) VALUES (999)'])).rejects.toThrow(/foreign key/i)
  })

  it('names what keeps a database from moving so: another engine, a FULLTEXT index, a name that is not its file', async () => {
    await created('ts-b')
    const name = dbNameForSlug('ts-b')
    const reason = async () => db().tablespaces!.exportable(name)
    await asTenant('ts-b', ['CREATE TABLE plain (id INT PRIMARY KEY)'])
    expect(await reason()).toEqual({ tables: expect.arrayContaining(['plain']) })
    await asTenant('ts-b', ['CREATE TABLE old (id INT PRIMARY KEY) ENGINE=MyISAM'])
    expect(await reason()).toEqual({ why: 'old is an MyISAM table' })
    await asTenant('ts-b', ['DROP TABLE old', 'CREATE TABLE docs (id INT PRIMARY KEY, body TEXT, FULLTEXT (body))'])
    expect(await reason()).toEqual({ why: 'docs has a FULLTEXT index' })
    await asTenant('ts-b', ['DROP TABLE docs', 'CREATE TABLE `odd-name` (id INT PRIMARY KEY)'])
    expect(await reason()).toEqual({ why: '"odd-name" is not a plain file name' })
  })

  it("sends SQL when the export lock is not taken (an app's open transaction holds a table), and says why", async () => {
    await created('ts-d')
    const name = dbNameForSlug('ts-d')
    await asTenant('ts-d', ['CREATE TABLE t (id INT PRIMARY KEY)', 'INSERT INTO t VALUES (1)'])
    const held = await mariadbAs(env, 'ts-d', 'tenant')
    try {
      await held.query('START TRANSACTION')
      await held.query('UPDATE t SET id = 2 WHERE id = 1')
      const lines: string[] = []
      const chosen = await tablespacesChoice(db(), name, {
        log: (l: string) => lines.push(l),
        signal: new AbortController().signal,
      })
      expect(chosen).toBeUndefined()
      expect(lines.join('\n')).toMatch(
        /the dump crosses as SQL, not as tablespace files: the export lock was not taken/,
      )
      await held.query('ROLLBACK')
      const free = await tablespacesChoice(db(), name, {
        log: (l: string) => lines.push(l),
        signal: new AbortController().signal,
      })
      expect(free?.tables).toEqual(expect.arrayContaining(['t']))
      await free?.locked.release()
    } finally {
      await held.end()
    }
  })

  it('fails a cut archive and one naming a file of no table, and the fresh database goes without a trace', async () => {
    await created('ts-c')
    const name = dbNameForSlug('ts-c')
    await asTenant('ts-c', [
      'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)',
      ...Array.from({ length: 50 }, (_, i) => `INSERT INTO t (v) VALUES (REPEAT('x${i}', 2000))`),
    ])
    const tables = ((await db().tablespaces!.exportable(name)) as { tables: string[] }).tables
    const archive = await exported('ts-c', tables)
    const schema = execFileSync('tar', ['-x', '-O', 'schema.sql'], {
      input: execFileSync('zstd', ['-d', '-q', '-c'], { input: archive }),
    })
    const work = fs.mkdtempSync(path.join(env.deps.config.stateDir, 'ts-'))
    fs.writeFileSync(path.join(work, 'schema.sql'), schema)
    fs.writeFileSync(path.join(work, 'nosuch.ibd'), 'not a tablespace')
    const foreign = Buffer.concat([
      TABLESPACES_MARK,
      execFileSync('zstd', ['-q', '-c'], {
        input: execFileSync('tar', ['--format=gnu', '-c', '-f', '-', '-C', work, 'schema.sql', 'nosuch.ibd']),
      }),
    ])
    fs.rmSync(work, { recursive: true, force: true })
    const cases = [
      { archive: archive.subarray(0, Math.floor(archive.length / 2)), error: /zstd|cut short/ },
      { archive: foreign, error: /nosuch\.ibd, no table/ },
    ]
    for (const [i, c] of cases.entries()) {
      const scratch = `${name}__restore_${i + 7}`
      const failed = await db().loadStreamInto!(name, scratch, Readable.from([c.archive]), undefined, true).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(String(failed)).toMatch(c.error)
      await db().dropAside(name, scratch)
      expect(fs.existsSync(path.join(await datadir('ts-c'), scratch))).toBe(false)
    }
    expect(await db().asideOf(name)).toEqual([])
  })

  it('is found by agents that probe one MariaDB at the same time, and no probe database stays', async () => {
    // The probe database was one fixed name: a second agent's DROP could remove the first's before it looked.
    const probes = await Promise.all(
      Array.from({ length: 6 }, () => transferCapabilities(env.deps.config, env.deps.exec)),
    )
    for (const found of probes) expect(found.some((c) => c.startsWith(TRANSFER_INNODB_PREFIX))).toBe(true)
    const left = await asAdmin(async (c) => (await c.query("SHOW DATABASES LIKE 'alfa\\_\\_innodb%'"))[0], 'ts-a')
    expect(left).toEqual([])
  })
})
