import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cluster } from '../support/cluster.ts'
import { createClients } from '../support/fleet.ts'
import type { PrivateMariadb } from '../support/mariadb.ts'
import { steadyAnswer, type PrivateNginx } from '../support/nginx.ts'
import type { ServerServices } from '../support/server-services.ts'
import { bytesOf, filesServed, uploadFiles } from '../support/app-files.ts'
import { mariadbAdmin as admin, startTwoServers, visit, type TwoServers } from '../support/two-servers.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any
const SEED_ROWS = 10_000
const MOVED_FILES = 50
/** The forward lasts 1/64 h (56.25 s; a binary fraction, so `until` stays a whole number of ms). */
const FORWARD_HOURS = 1 / 64

/** Issue 14: move_to and copy_to between two servers on this machine, each with its own agent, nginx and MariaDB. */
describe('move_to and copy_to between two servers (real agents, nginx, MariaDB, Docker)', () => {
  let services: ServerServices
  let nginxB: PrivateNginx
  let mariadbB: PrivateMariadb
  let c: Cluster
  let dir: string
  let a: TwoServers['a']
  let b: TwoServers['b']
  let clients: Map<string, { id: string; domain: string }>
  let servers: TwoServers
  let forwardUntil: string | undefined

  beforeAll(async () => {
    servers = await startTwoServers({
      name: 'mv',
      dockerPrefix: 'mvb-',
      networkPool: '10.214.0.0/16',
      roleB: 'stage',
      masterEnv: { ALFA_MOVE_FORWARD_HOURS: String(FORWARD_HOURS) },
    })
    ;({ services, nginxB, mariadbB, c, dir, a, b } = servers)
    clients = await createClients(c, a.id, services.images.good1, ['mv-move', 'mv-orig'])
  }, 600_000)
  afterAll(async () => {
    await servers?.stop()
  })

  it('moves a client with 10,000 rows and 50 files while a writer inserts until the freeze: nothing lost, source cleaned, forward', async () => {
    const client = clients.get('mv-move')!
    const src = await admin(services.mariadb, 'alfa_mv_move')
    await src.query(
      'CREATE TABLE move_rows (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))',
    )
    await src.query('SET SESSION max_recursive_iterations = 100000')
    await src.query(
      'INSERT INTO move_rows (n) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) SELECT n FROM s',
      [SEED_ROWS],
    )
    // 50 files in the client's data volume, uploaded through the app as visitors would; nothing else is in it.
    const files = await uploadFiles(services.nginx.port, client.domain, 'move', MOVED_FILES)
    expect(await filesServed(services.nginx.port, client.domain)).toEqual(files)

    // The writer inserts one row at a time and looks through the source's nginx after each: it stops once the
    // maintenance page (the freeze) is what visitors get. Every row it wrote was written before it saw the freeze.
    let written = 0
    let frozenSeen = false
    let moveEnded = false
    const writer = (async () => {
      // Also stops when the move ended without a freeze (a failed move must fail the test, not hang it).
      for (let n = SEED_ROWS + 1; !frozenSeen && !moveEnded; n++) {
        await src.query('INSERT INTO move_rows (n) VALUES (?)', [n])
        written++
        const seen = await visit(services.nginx.port, client.domain)
        if (seen.page === 'maintenance') frozenSeen = true
      }
    })()
    const res = await c.api('GET', `/clients/${client.id}/move_to/${b.id}`)
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    expect(res.json.data.attributes.kind).toBe('client.move')
    const again = await c.api('POST', `/clients/${client.id}/move_to/${b.id}`)
    expect(again.status).toBe(409)
    const op: Json = await c.waitOperation(res.json.data.id, 300_000).finally(() => (moveEnded = true))
    await writer
    await src.end()
    const logText = (await c.api('GET', `/operations/${op.id}`)).json.data.attributes
    expect(op.attributes.status, JSON.stringify({ error: op.attributes.error, steps: logText.steps })).toBe('succeeded')
    const result = op.attributes.result
    forwardUntil = result.forwardUntil
    // First the forward, while it lasts (the next test waits for its end).
    const forwarded = await visit(services.nginx.port, client.domain, '/api/settings')
    expect(forwarded).toMatchObject({ status: 200, site: 'mv-move', forward: 'mv-move' })
    const lines: string[] = logText.log.map((l: Json) => l.message)
    const verified = lines.find((l) => l.startsWith('files verified:'))
    console.log(
      `move: ${SEED_ROWS} + ${written} rows, ${MOVED_FILES} files (${bytesOf(files)} bytes), downtime ${result.downtimeMs} ms, dump ${result.dumpBytes} bytes; ${verified}; result ${JSON.stringify(result)}`,
    )
    expect(verified).toBe(
      `files verified: ${MOVED_FILES} files, ${bytesOf(files)} bytes on the target as on the source, each read back with its sha256`,
    )
    expect(result).toMatchObject({
      from: a.id,
      to: b.id,
      address: '127.0.0.1',
      sitesPort: nginxB.port,
      files: MOVED_FILES,
      fileBytes: bytesOf(files),
    })
    expect(result.downtimeMs).toBeGreaterThan(0)
    expect(frozenSeen).toBe(true)
    expect(written).toBeGreaterThan(0)

    // Every row is on the target, and the target serves the client through its own nginx.
    const dst = await admin(mariadbB, 'alfa_mv_move')
    const [[count]] = (await dst.query('SELECT COUNT(*) AS n, MAX(n) AS last FROM move_rows')) as Json
    await dst.end()
    expect(Number(count.n)).toBe(SEED_ROWS + written)
    expect(Number(count.last)).toBe(SEED_ROWS + written)
    const onTarget = await visit(nginxB.port, client.domain, '/api/settings')
    expect(onTarget).toMatchObject({ status: 200, site: 'mv-move' })
    // Every file, byte for byte, read by the target's container from its own volume, through the target's nginx.
    expect(await filesServed(nginxB.port, client.domain)).toEqual(files)
    const volumesOn = async (serverId: string) =>
      (
        await services.docker.listVolumes({
          filters: { label: [`alfa.server=${serverId}`, `alfa.client=${client.id}`] },
        })
      ).Volumes ?? []
    expect((await volumesOn(b.id)).map((v) => v.Labels['alfa.data-path'])).toEqual(['storage/app'])
    const record = (await c.api('GET', `/clients/${client.id}`)).json.data
    expect(record.attributes.serverId).toBe(b.id)

    // The source kept only its dumps: no database, no container; its nginx forwards the domain to the target.
    const srcAdmin = await admin(services.mariadb)
    const [dbs] = (await srcAdmin.query("SHOW DATABASES LIKE 'alfa_mv_move'")) as Json
    await srcAdmin.end()
    expect(dbs).toEqual([])
    await expect(services.docker.getContainer('alfa-mv-move').inspect()).rejects.toThrow()
    expect(await volumesOn(a.id)).toEqual([])
    // Both agents run zstd and the same MariaDB with its files on their disks: the dump crossed as the table's
    // InnoDB files, compressed, and the kept copy is that stream (a tar of the schema and each table's .cfg and .ibd
    // behind zstd's skippable mark); the cleanup's own final dump is plain SQL holding every row.
    expect(result).toMatchObject({ dumpCompression: 'zstd', dumpFormat: 'tablespaces' })
    const kept = await readdir(path.join(dir, 'a', 'backups'))
    const keptDump = kept.find((f) => /^mv-move-move-.*\.ibd\.tar\.zst$/.test(f))
    expect(keptDump, kept.join(', ')).toBeDefined()
    expect(kept.some((f) => /^mv-move-move-.*\.files\.tar$/.test(f))).toBe(true)
    expect(statSync(path.join(dir, 'a', 'backups', keptDump!)).size).toBe(result.dumpBytes)
    const archive = execFileSync('zstd', ['-d', '-q', '-c', path.join(dir, 'a', 'backups', keptDump!)], {
      maxBuffer: 256 * 1024 * 1024,
    })
    const listed = execFileSync('tar', ['-t'], { input: archive }).toString('utf8').trim().split('\n')
    expect(listed[0]).toBe('schema.sql')
    expect(listed).toEqual(expect.arrayContaining(['move_rows.ibd', 'move_rows.cfg', 'cloud_settings.ibd']))
    const finalDump = kept.find((f) => /^mv-move-move-.*\.sql$/.test(f))
    expect(finalDump, kept.join(', ')).toBeDefined()
    const sql = await readFile(path.join(dir, 'a', 'backups', finalDump!), 'utf8')
    expect(sql.slice(0, 300)).toContain('-- MariaDB dump')
    expect(sql.trimEnd()).toMatch(/-- Dump completed on .*$/)
    expect(sql).toContain('INSERT INTO `move_rows`')
  }, 600_000) // its own wait allows the move 300 s; the default 120 s cut it short

  it('the forward ends at its until, also when the agent was down then: nginx stops forwarding the domain', async () => {
    const client = clients.get('mv-move')!
    expect(forwardUntil, 'the move test ran and forwarded').toBeDefined()
    const until = Date.parse(forwardUntil!)
    const site = path.join(services.nginx.confDir, 'alfa-mv-move.conf')
    expect(until).toBeGreaterThan(Date.now())
    expect(await visit(services.nginx.port, client.domain, '/api/settings')).toMatchObject({ forward: 'mv-move' })
    // The old server's agent is down when the forward ends: nothing else removes it meanwhile.
    await a.agent.proc!.stop({ timeoutMs: 10_000 })
    await c.waitOnline(a.id, false, 30_000)
    await sleep(Math.max(0, until - Date.now()) + 1_000)
    expect(await visit(services.nginx.port, client.domain, '/api/settings')).toMatchObject({ forward: 'mv-move' })
    expect(existsSync(site)).toBe(true)
    // Restarted with an hour between sweeps: only its start-up sweep can end the forward within seconds.
    c.startAgent(a.agent, { ...services.agentEnv(path.join(dir, 'a')), ALFA_AGENT_FORWARD_SWEEP_MS: '3600000' })
    await c.waitOnline(a.id, true, 30_000)
    // Steady, not one answer: in CI (5c6cbdd) an answer still showed the forward right after one that showed it gone,
    // most likely from an old nginx worker not yet shut down after the agent's reload (see steadyAnswer).
    const after = await steadyAnswer(
      () => visit(services.nginx.port, client.domain, '/api/settings'),
      (seen) => seen.status === 404 && seen.site === undefined && seen.forward === undefined,
      { timeoutMs: 20_000 },
    )
    // nginx's default server answers the name now: no site, no forward.
    expect(after).toMatchObject({ status: 404, site: undefined, forward: undefined })
    expect(existsSync(site)).toBe(false)
    console.log(
      `forward until ${forwardUntil}, gone through nginx at ${new Date().toISOString()} after an agent restart`,
    )
  }, 180_000)

  it('copy_to a production server is refused with 422 naming server_id', async () => {
    const origin = clients.get('mv-orig')!
    const refused = await c.api('GET', `/clients/${origin.id}/copy_to/${a.id}`)
    expect(refused.status).toBe(422)
    expect(refused.json.errors[0].source.parameter).toBe('server_id')
    const bad = await c.api('GET', `/clients/${origin.id}/copy_to/${b.id}?slug=${encodeURIComponent('a; rm -rf /')}`)
    expect(bad.status).toBe(422)
    expect(bad.json.errors[0].source.parameter).toBe('slug')
  })

  it('copy_to a stage server makes a new client from the origin while the origin keeps serving, untouched', async () => {
    const origin = clients.get('mv-orig')!
    // The origin's agent without compression: the dump crosses plain (an agent whose server lacks zstd, or an older
    // one), the path every move took before compression.
    await a.agent.proc!.stop({ timeoutMs: 10_000 })
    await c.waitOnline(a.id, false, 30_000)
    c.startAgent(a.agent, { ...services.agentEnv(path.join(dir, 'a')), ALFA_AGENT_TRANSFER_COMPRESSION: '0' })
    await c.waitOnline(a.id, true, 30_000)
    const src = await admin(services.mariadb, 'alfa_mv_orig')
    await src.query('CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(100))')
    await src.query("INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')")
    const originFiles = await uploadFiles(services.nginx.port, origin.domain, 'orig', 5)
    const res = await c.api('POST', `/clients/${origin.id}/copy_to/${b.id}`)
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    // The origin answers with the app (never the maintenance page) for the whole copy.
    let originPages = 0
    let polling = true
    const poll = (async () => {
      while (polling) {
        const seen = await visit(services.nginx.port, origin.domain)
        if (seen.status !== 200 || seen.page) originPages++
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const op: Json = await c.waitOperation(res.json.data.id, 300_000)
    polling = false
    await poll
    expect(op.attributes.status, JSON.stringify(op.attributes.error)).toBe('succeeded')
    expect(originPages).toBe(0)
    const copy = (await c.api('GET', `/clients/${op.attributes.result.copyId}`)).json.data
    expect(copy.attributes).toMatchObject({ slug: 'mv-orig-stage', domain: 'mv-orig-stage.mv-b.test.localhost' })
    expect(await visit(nginxB.port, 'mv-orig-stage.mv-b.test.localhost')).toMatchObject({
      status: 200,
      site: 'mv-orig-stage',
    })
    // The origin's files are in the copy's own volume, and the origin's are as they were.
    expect(await filesServed(nginxB.port, 'mv-orig-stage.mv-b.test.localhost')).toEqual(originFiles)
    expect(await filesServed(services.nginx.port, origin.domain)).toEqual(originFiles)
    expect(op.attributes.result).toMatchObject({ files: 5, fileBytes: bytesOf(originFiles) })
    expect(op.attributes.result.dumpCompression).toBeUndefined()
    const dst = await admin(mariadbB, 'alfa_mv_orig_stage')
    const [rows] = (await dst.query('SELECT body FROM notes ORDER BY id')) as Json
    await dst.end()
    expect(rows.map((r: Json) => r.body)).toEqual(['one', 'two', 'three'])
    // Its own database user, not the origin's.
    const bAdmin = await admin(mariadbB)
    const [users] = (await bAdmin.query("SELECT User FROM mysql.user WHERE User LIKE 'alfa_mv_orig%'")) as Json
    await bAdmin.end()
    expect(users.map((u: Json) => u.User)).toEqual(['alfa_mv_orig_stage'])
    const [[still]] = (await src.query('SELECT COUNT(*) AS n FROM notes')) as Json
    await src.end()
    expect(Number(still.n)).toBe(3)
    // Nor is its server's disk changed: the dump and the files archive the copy was made from are not kept there.
    const left = (await readdir(path.join(dir, 'a', 'backups'))).filter((f) => f.startsWith('mv-orig-'))
    expect(left).toEqual([])
  })
})
