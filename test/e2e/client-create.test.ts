import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir, waitUntil } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'

const OWNER_PASSWORD = 'Lab-Admin-Secret-2026'

/**
 * Issue 4 end to end: the REST API → master → WebSocket → agent process → Docker, nginx, MariaDB/PostgreSQL, and the
 * fixture app answering through nginx with values it reads from its own database.
 */
describe('client lifecycle I through the REST API (real Docker, nginx, MariaDB, PostgreSQL)', () => {
  let services: ServerServices
  let c: Cluster
  let maria: { id: string }
  let pg: { id: string }

  beforeAll(async () => {
    services = await startServerServices()
    const dir = await makeTempDir('alfa-e2e-clients')
    c = await startCluster({
      masterEnv: { ALFA_APP_PROFILES: await services.profilesFile(dir), ALFA_CLIENT_CHECK_INTERVAL_MS: '3000' },
    })
    maria = await c.addAgent('e2e-maria', { env: services.agentEnv(path.join(dir, 'maria')) })
    pg = await c.addAgent('e2e-pg', {
      env: services.agentEnv(path.join(dir, 'pg')),
      attributes: { dbEngine: 'postgresql' },
    })
  }, 240_000)
  afterAll(async () => {
    await c?.stop()
    await removeServerContainers([maria?.id, pg?.id].filter(Boolean) as string[])
    await services?.stop()
  })

  const clientDoc = (attrs: Record<string, unknown>) => ({
    data: {
      type: 'clients',
      attributes: {
        name: 'E2E Lab',
        ownerLogin: 'owner',
        ownerEmail: 'owner@lab.example.com',
        ownerPassword: OWNER_PASSWORD,
        image: services.images.good1,
        ...attrs,
      },
    },
  })

  async function createAndWait(attrs: Record<string, unknown>) {
    const res = await c.api('POST', '/clients', clientDoc(attrs))
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    const id = res.json.data.id
    let since = 0
    const seqs: number[] = []
    let last:
      | {
          completed: string | null
          failedStep: string | null
          log: { seq: number; message: string; step: string | null }[]
          error: { message: string } | null
        }
      | undefined
    await waitUntil(
      async () => {
        const page = await c.api('GET', `/clients/${id}/create_log?since=${since}`)
        last = page.json.data.attributes
        for (const l of last!.log) seqs.push(l.seq)
        since = last!.log.at(-1)?.seq ?? since
        return last!.completed !== null
      },
      { timeoutMs: 120_000, what: `create of ${attrs.slug}` },
    )
    // Polling with since= returns each line once, in order.
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b))
    return { id, createLog: last!, seqs }
  }

  it('creates a client: create_log ends ok and the app answers through nginx with values from its own database', async () => {
    const { id, createLog } = await createAndWait({
      slug: 'lab-maria',
      server: maria.id,
      expireDate: '2030-01-31',
      turbostart: true,
    })
    expect(createLog.completed).toBe('ok')
    const client = (await c.api('GET', `/clients/${id}`)).json.data.attributes
    expect(client).toMatchObject({
      status: 'active',
      domain: 'lab-maria.e2e-maria.test.localhost',
      url: 'http://lab-maria.e2e-maria.test.localhost/',
      version: '1.0.0',
    })
    const settings = await fetchVhost(services.nginx.port, client.domain, '/api/settings')
    expect(settings.status).toBe(200)
    expect(JSON.parse(settings.body)).toMatchObject({
      appVersion: '1.0.0',
      usersCount: 1,
      settings: { maintenance: false, expire_date: '2030-01-31', turbostart: true, tutorial: true },
    })
    const page = await fetchVhost(services.nginx.port, client.domain, '/')
    expect(page.body).toContain('1.0.0')
    expect(page.body).toContain('2030-01-31')
  })

  it('lists the client as available with its user count', async () => {
    let item: { attributes: { available: boolean; usersCount: number | null; slug: string } } | undefined
    await waitUntil(
      async () => {
        item = (await c.api('GET', '/clients?filter[q]=lab-maria')).json.data[0]
        return item?.attributes.usersCount !== null && item?.attributes.usersCount !== undefined
      },
      { timeoutMs: 30_000, what: 'the users count' },
    )
    expect(item!.attributes).toMatchObject({ available: true, usersCount: 1, slug: 'lab-maria' })
  })

  it('moves a client to a new domain with an update: the site is rewritten, the old name no longer answers', async () => {
    const id = (await c.api('GET', '/clients?filter[q]=lab-maria')).json.data[0].id
    const res = await c.api('POST', '/clients', {
      data: { type: 'clients', id, attributes: { domain: 'LAB-Moved.Example.com', name: 'Moved Lab', cpuLimit: 0.75 } },
    })
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    const moved = await c.waitOperation(res.json.data.meta.operation.id, 60_000)
    expect(moved.attributes.status).toBe('succeeded')
    // The limit changed by the same update went with it, in place.
    expect(moved.attributes.result.limits).toMatchObject({ cpus: 0.75 })
    expect((await services.docker.getContainer('alfa-lab-maria').inspect()).HostConfig.NanoCpus).toBe(750_000_000)
    expect((await c.api('GET', `/clients/${id}`)).json.data.attributes).toMatchObject({
      domain: 'lab-moved.example.com',
      name: 'Moved Lab',
    })
    // nginx applies a reload asynchronously (see the note on issue 4): wait for the new name to be served.
    await waitUntil(
      async () => (await fetchVhost(services.nginx.port, 'lab-moved.example.com', '/health')).status === 200,
      { timeoutMs: 10_000, what: 'the new name served' },
    )
    // The reload is asynchronous: an old nginx worker may answer for the old name for a moment.
    await waitUntil(
      async () =>
        (await fetchVhost(services.nginx.port, 'lab-maria.e2e-maria.test.localhost', '/health')).status !== 200,
      { timeoutMs: 10_000, what: 'the old name gone' },
    )
    // Sending the domain it already has is a plain update, not a move.
    const same = await c.api('POST', '/clients', {
      data: { type: 'clients', id, attributes: { domain: 'lab-moved.example.com' } },
    })
    expect(same.status).toBe(200)
  })

  it('reports a failing migrate step as completed: error naming migrate, and leaves nothing behind', async () => {
    const { id, createLog } = await createAndWait({
      slug: 'lab-broken',
      server: maria.id,
      image: services.images.brokenMigrate,
    })
    expect(createLog.completed).toBe('error')
    expect(createLog.failedStep).toBe('migrate')
    expect(createLog.error?.message).toMatch(/migrate/)
    expect((await c.api('GET', `/clients/${id}`)).json.data.attributes.status).toBe('failed')
    const containers = await services.docker.listContainers({ all: true, filters: { name: ['alfa-lab-broken'] } })
    expect(containers).toHaveLength(0)
    await expect(stat(path.join(services.nginx.confDir, 'alfa-lab-broken.conf'))).rejects.toThrow()
    const db = await mysql.createConnection({
      host: '127.0.0.1',
      port: services.mariadb.port,
      user: services.mariadb.adminUser,
      password: services.mariadb.adminPassword,
    })
    const [dbs] = await db.query('SHOW DATABASES LIKE ?', ['alfa_lab_broken'])
    await db.end()
    expect(dbs).toHaveLength(0)
  })

  it('creates a client on a PostgreSQL server', async () => {
    const { id, createLog } = await createAndWait({ slug: 'lab-pg', server: pg.id })
    expect(createLog.completed).toBe('ok')
    const domain = (await c.api('GET', `/clients/${id}`)).json.data.attributes.domain
    expect((await fetchVhost(services.nginx.port, domain, '/health')).status).toBe(200)
  })

  it('refuses hostile values with 422 and starts nothing', async () => {
    // This server's containers only: other test files run beside this one on the same Docker engine, and one of
    // them starting a container in this window made a count of all containers fail (CI, 2026-12-02 11:50).
    const ours = async () =>
      (await services.docker.listContainers({ all: true, filters: { label: [`alfa.server=${maria.id}`] } })).map((x) =>
        x.Names.join(','),
      )
    const before = await ours()
    for (const [field, value] of [
      ['slug', 'a; rm -rf /'],
      ['domain', 'x.example.com\nserver_name evil'],
      ['image', '--upload-pack=x'],
      ['ownerLogin', '$(id)'],
      ['slug', '../../etc/x'],
    ] as const) {
      const res = await c.api('POST', '/clients', clientDoc({ slug: 'lab-hostile', server: maria.id, [field]: value }))
      expect(res.status, `${field}=${JSON.stringify(value)}`).toBe(422)
      expect(res.json.errors[0].source.pointer).toBe(`/data/attributes/${field}`)
    }
    expect(await ours()).toEqual(before)
    expect(await services.docker.listContainers({ all: true, filters: { name: ['lab-hostile'] } })).toEqual([])
    expect((await c.api('GET', '/clients?filter[q]=hostile')).json.meta.total).toBe(0)
  })

  it('deletes a client: no container, site or database left, and the final dump exists', async () => {
    const id = (await c.api('GET', '/clients?filter[q]=lab-pg')).json.data[0].id
    const res = await c.api('DELETE', `/clients/${id}`)
    expect(res.status).toBe(202)
    const op = await c.waitOperation(res.json.data.meta.operation.id, 60_000)
    expect(op.attributes.status).toBe('succeeded')
    const dumpPath = op.attributes.result.dumpPath as string
    expect((await stat(dumpPath)).size).toBeGreaterThan(0)
    expect((await c.api('GET', `/clients/${id}`)).json.data.attributes.status).toBe('deleted')
    expect(await services.docker.listContainers({ all: true, filters: { name: ['alfa-lab-pg'] } })).toHaveLength(0)
    await expect(stat(path.join(services.nginx.confDir, 'alfa-lab-pg.conf'))).rejects.toThrow()
    expect((await c.api('DELETE', `/clients/${id}`)).status).toBe(200)
  })

  it('never writes the owner password to a log', async () => {
    const logs = [...(await c.masterLog()).map((l) => JSON.stringify(l))]
    for (const name of ['e2e-maria', 'e2e-pg'])
      logs.push(await readFile(path.join(c.dir, `agent-${name}-1.log`), 'utf8'))
    expect(logs.join('\n')).not.toContain(OWNER_PASSWORD)
  })
})
