// Issue 14 on PostgreSQL: move_to and copy_to between two servers whose clients run PostgreSQL (each server its own
// cluster). The dump goes the other way than MariaDB's: made and verified first (pg_dump's custom format), then
// streamed, spooled and checked on the target, and restored from there by client.restore (a copy: into a database
// of another name, owned by another role).
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { dbNameForSlug } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesOf, filesServed, uploadFiles } from '../support/app-files.ts'
import { createClients } from '../support/fleet.ts'
import { waitUntil } from '../support/process.ts'
import { startTwoServers, visit, type TwoServers } from '../support/two-servers.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any
const ROWS = 5_000
const SLUG = 'pgmv-one'
const ORIGIN = 'pgmv-orig'

/** A superuser connection to `database` of the cluster at `url`. */
async function superuser(url: string, database: string) {
  const u = new URL(url)
  u.pathname = `/${database}`
  const client = new pg.Client({ connectionString: u.toString() })
  await client.connect()
  return client
}

describe('move_to between two PostgreSQL servers (real agents, nginx, PostgreSQL, Docker)', () => {
  let servers: TwoServers
  let client: { id: string; domain: string }
  let clients: Map<string, { id: string; domain: string }>

  beforeAll(async () => {
    servers = await startTwoServers({
      name: 'pgmv',
      dockerPrefix: 'pgmvb-',
      networkPool: '10.216.0.0/16',
      engine: 'postgresql',
      roleB: 'stage',
    })
    clients = await createClients(servers.c, servers.a.id, servers.services.images.good1, [SLUG, ORIGIN])
    client = clients.get(SLUG)!
  }, 600_000)
  afterAll(async () => {
    await servers?.stop()
  })

  /** A REST call that starts an operation, waited for until it succeeded. */
  async function run(method: string, route: string) {
    const res = await servers.c.api(method, route)
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    const op: Json = await servers.c.waitOperation(res.json.data.meta?.operation?.id ?? res.json.data.id, 300_000)
    expect(op.attributes.status, JSON.stringify(op.attributes.error)).toBe('succeeded')
    return op
  }

  it('moves every row and file to the target, which serves the client; the source keeps only its dumps', async () => {
    const { services, postgresB, nginxB, c, a, b, dir } = servers
    const db = dbNameForSlug(SLUG)
    const src = await superuser(services.postgres.url, db)
    await src.query('CREATE TABLE move_rows (id SERIAL PRIMARY KEY, n INT NOT NULL, note TEXT)')
    await src.query("INSERT INTO move_rows (n, note) SELECT g, 'row ' || g FROM generate_series(1, $1) g", [ROWS])
    await src.end()
    const files = await uploadFiles(services.nginx.port, client.domain, 'pg', 5)

    const op = await run('POST', `/clients/${client.id}/move_to/${b.id}`)
    expect(op.attributes.result).toMatchObject({ from: a.id, to: b.id, files: 5, fileBytes: bytesOf(files) })

    // Every row in the target's own cluster; the target serves the client (its app reading that database).
    const dst = await superuser(postgresB!.url, db)
    const { rows } = await dst.query('SELECT COUNT(*)::int AS n, SUM(n)::bigint AS sum FROM move_rows')
    await dst.end()
    expect(rows[0]).toEqual({ n: ROWS, sum: String((ROWS * (ROWS + 1)) / 2) })
    expect(await visit(nginxB.port, client.domain, '/api/settings')).toMatchObject({ status: 200, site: SLUG })
    expect(await filesServed(nginxB.port, client.domain)).toEqual(files)
    expect((await c.api('GET', `/clients/${client.id}`)).json.data.attributes.serverId).toBe(b.id)

    // The source's cluster no longer has the database; its dump and files archive are kept.
    const admin = await superuser(services.postgres.url, 'postgres')
    const left = await admin.query('SELECT datname FROM pg_database WHERE datname = $1', [db])
    await admin.end()
    expect(left.rows).toEqual([])
    const kept = await readdir(path.join(dir, 'a', 'backups'))
    // pg_dump's custom format is named `.dump`: fed to psql as `.sql` it would be garbage. Two of each: the dump and
    // archive the move carried, and the final ones of the cleanup's client.delete, kept as a move's too.
    expect(kept.filter((f) => f.startsWith(`${SLUG}-move-`) && f.endsWith('.dump'))).toHaveLength(2)
    expect(kept.filter((f) => f.startsWith(`${SLUG}-move-`) && f.endsWith('.files.tar'))).toHaveLength(2)
    expect(kept.filter((f) => f.startsWith(`${SLUG}-`) && !f.startsWith(`${SLUG}-move-`))).toEqual([])
    // Each is recorded as kept, so it goes ALFA_AGENT_MOVE_DUMP_KEEP_DAYS later (the last test).
    const records = await readdir(path.join(a.agent.stateDir, 'kept-dumps'))
    expect(records.sort()).toEqual(
      kept
        .filter((f) => f.startsWith(`${SLUG}-move-`))
        .map((f) => `${f}.json`)
        .sort(),
    )
    // The move's log says until when the old server keeps them (its default: 30 days from the cleanup).
    const lines: string[] = (await c.api('GET', `/operations/${op.id}`)).json.data.attributes.log.map(
      (l: Json) => l.message,
    )
    const cleaned = lines.find((l) => l.startsWith('source cleaned; final dumps kept:'))
    const until = /\(until (\S+), by the old server's ALFA_AGENT_MOVE_DUMP_KEEP_DAYS\)$/.exec(cleaned ?? '')
    expect(until, cleaned).not.toBeNull()
    const days = (Date.parse(until![1]!) - Date.parse(op.attributes.finishedAt)) / 86_400_000
    expect(days).toBeGreaterThan(29.9)
    expect(days).toBeLessThanOrEqual(30)
  }, 600_000)

  it('copies a client to the stage server: its own database and role hold the rows, its app serves; the origin is as it was', async () => {
    const { services, postgresB, nginxB, c, b, dir } = servers
    const origin = clients.get(ORIGIN)!
    const src = await superuser(services.postgres.url, dbNameForSlug(ORIGIN))
    await src.query('CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT)')
    await src.query("INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')")
    await src.end()
    const files = await uploadFiles(services.nginx.port, origin.domain, 'orig', 3)

    const op = await run('POST', `/clients/${origin.id}/copy_to/${b.id}`)
    const copy = (await c.api('GET', `/clients/${op.attributes.result.copyId}`)).json.data
    const copySlug: string = copy.attributes.slug
    expect(copySlug).toBe(`${ORIGIN}-stage`)

    // The copy's app reads its own database through the stage server's nginx, and serves the origin's files.
    expect(await visit(nginxB.port, copy.attributes.domain, '/api/settings')).toMatchObject({
      status: 200,
      site: copySlug,
    })
    expect(await filesServed(nginxB.port, copy.attributes.domain)).toEqual(files)
    const dst = await superuser(postgresB!.url, dbNameForSlug(copySlug))
    const { rows } = await dst.query('SELECT body FROM notes ORDER BY id')
    // Every table of the copy belongs to the copy's own role, not the origin's (which does not exist there).
    const owners = await dst.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    await dst.end()
    expect(rows.map((r: Json) => r.body)).toEqual(['one', 'two', 'three'])
    expect(owners.rows.map((r: Json) => r.tableowner)).toEqual([dbNameForSlug(copySlug)])

    // The origin serves as before and its server keeps nothing of the copy.
    expect(await visit(services.nginx.port, origin.domain, '/api/settings')).toMatchObject({
      status: 200,
      site: ORIGIN,
    })
    const left = (await readdir(path.join(dir, 'a', 'backups'))).filter((f) => f.startsWith(`${ORIGIN}-`))
    expect(left).toEqual([])
    // Nor a record of a kept file: a copy's origin keeps nothing, so nothing is due to go either.
    const records = await readdir(path.join(servers.a.agent.stateDir, 'kept-dumps'))
    expect(records.filter((f) => f.startsWith(`${ORIGIN}-`))).toEqual([])
  }, 600_000)

  it('after them the moved client takes its actions on its new server, and deleting the copy leaves the origin', async () => {
    const { services, nginxB, c, b } = servers
    // The moved client: maintenance on and off and a reboot, each through the target's nginx.
    await run('POST', `/clients/${client.id}/maintain_enable`)
    expect(await visit(nginxB.port, client.domain)).toMatchObject({ status: 503, page: 'maintenance' })
    await run('POST', `/clients/${client.id}/maintain_disable`)
    await run('POST', `/clients/${client.id}/reboot`)
    expect(await visit(nginxB.port, client.domain, '/api/settings')).toMatchObject({ status: 200, site: SLUG })

    // The copy deleted: gone from the stage server, while the origin serves on as it was.
    const origin = clients.get(ORIGIN)!
    const copies = (await c.api('GET', `/clients?filter[server]=${b.id}`)).json.data as Json[]
    const copy = copies.find((x) => x.attributes.slug === `${ORIGIN}-stage`)
    expect(copy).toBeDefined()
    await run('DELETE', `/clients/${copy.id}`)
    expect((await visit(nginxB.port, copy.attributes.domain)).site).toBeUndefined()
    expect(await visit(services.nginx.port, origin.domain, '/api/settings')).toMatchObject({
      status: 200,
      site: ORIGIN,
    })
    const src = await superuser(services.postgres.url, dbNameForSlug(ORIGIN))
    const { rows } = await src.query('SELECT COUNT(*)::int AS n FROM notes')
    await src.end()
    expect(rows[0].n).toBe(3)
  }, 600_000)

  it('a client in maintenance moves (back to the first server) and stays in maintenance there until lifted', async () => {
    const { services, c, a } = servers
    await run('POST', `/clients/${client.id}/maintain_enable`)
    const moved = await run('POST', `/clients/${client.id}/move_to/${a.id}`)
    expect(await visit(services.nginx.port, client.domain)).toMatchObject({ status: 503, page: 'maintenance' })
    // Every step of it done, the forward too: through the old server's nginx the new one's maintenance page.
    expect(moved.attributes.result.notes).toBeUndefined()
    expect(moved.attributes.steps.filter((x: Json) => x.status !== 'done')).toEqual([])
    expect(await visit(servers.nginxB.port, client.domain)).toMatchObject({
      status: 503,
      page: 'maintenance',
      forward: SLUG,
    })
    expect((await c.api('GET', `/clients/${client.id}`)).json.data.attributes).toMatchObject({
      serverId: a.id,
      maintenance: true,
    })
    await run('POST', `/clients/${client.id}/maintain_disable`)
    expect(await visit(services.nginx.port, client.domain, '/api/settings')).toMatchObject({ status: 200, site: SLUG })
  }, 600_000)

  it("a move's kept dump and files archive go once their days are up; the client and every other dump stay", async () => {
    const { services, c, a, dir, envA } = servers
    const movedFrom = async (side: 'a' | 'b') =>
      (await readdir(path.join(dir, side, 'backups'))).filter((f) => f.startsWith(`${SLUG}-move-`))
    expect(await movedFrom('a')).toHaveLength(4)
    // A final dump of a client whose slug ends in -move looks like a move's file by its name, but has no record.
    await writeFile(path.join(dir, 'a', 'backups', 'pgmv-two-move-2026-01-01T00-00-00-000Z.dump'), 'kept for good')
    const elsewhere = (await readdir(path.join(dir, 'a', 'backups'))).filter((f) => !f.startsWith(`${SLUG}-move-`))
    expect(elsewhere).toContain('pgmv-two-move-2026-01-01T00-00-00-000Z.dump')
    // A's agent again, keeping a move's files ~2 s: at its start-up sweep or the next, the first move's go.
    await a.agent.proc?.stop({ timeoutMs: 10_000 })
    c.startAgent(a.agent, { ...envA, ALFA_AGENT_MOVE_DUMP_KEEP_DAYS: '0.00002' })
    await c.waitOnline(a.id, true, 60_000)
    // The sweep removes a move's files, then its record: wait for both (CI 22a05b0 read the record in between).
    const keptRecords = () => readdir(path.join(a.agent.stateDir, 'kept-dumps'))
    await waitUntil(async () => (await movedFrom('a')).length === 0 && (await keptRecords()).length === 0, {
      timeoutMs: 60_000,
      what: "A's kept move files and their records to go",
    })
    expect(await keptRecords()).toEqual([])
    expect((await readdir(path.join(dir, 'a', 'backups'))).filter((f) => !f.startsWith(`${SLUG}-move-`))).toEqual(
      elsewhere,
    )
    // B's agent keeps its own (the move back) for the default 30 days; the client, now on A, serves.
    expect(await movedFrom('b')).toHaveLength(4)
    expect(await visit(services.nginx.port, client.domain, '/api/settings')).toMatchObject({ status: 200, site: SLUG })
    expect((await c.api('GET', `/clients/${client.id}`)).json.data.attributes.serverId).toBe(a.id)
  }, 180_000)
})
