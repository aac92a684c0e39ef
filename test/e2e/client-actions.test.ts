import { readFile } from 'node:fs/promises'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../packages/demo-app/src/app/password.ts'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir, waitUntil } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'

const NEW_PASSWORD = 'Fresh-Lab-Secret-77'
const OTHER_REPO = 'alfa-test/other-profile'

/** Issue 5 end to end: each per-client action through the REST API, checked where a user would see it. */
describe('client lifecycle II through the REST API (real Docker, nginx, MariaDB)', () => {
  let services: ServerServices
  let c: Cluster
  let server: { id: string }
  let clientId: string
  let domain: string
  let db: mysql.Connection

  const page = (p = '/') => fetchVhost(services.nginx.port, domain, p)
  async function act(method: string, route: string, body?: unknown) {
    const res = await c.api(method, route, body)
    expect(res.status, `${route}: ${JSON.stringify(res.json)}`).toBe(202)
    return c.waitOperation(res.json.data.id, 120_000)
  }
  const rows = async (sql: string) => (await db.query(sql))[0] as Record<string, unknown>[]

  beforeAll(async () => {
    services = await startServerServices()
    const dir = await makeTempDir('alfa-e2e-actions')
    // A second repository whose profile's health path the fixture app does not serve (404): a Laravel image beside
    // the demo's, say. Its image is the fixture's broken-migrate one under that name.
    await services.docker.getImage(services.images.brokenMigrate).tag({ repo: OTHER_REPO, tag: 'broken-migrate' })
    const profiles = await services.profilesFile(dir, { [OTHER_REPO]: { ...FIXTURE_PROFILE, healthPath: '/up' } })
    c = await startCluster({ masterEnv: { ALFA_APP_PROFILES: profiles, ALFA_EXPIRY_CHECK_INTERVAL_MS: '1000' } })
    server = await c.addAgent('e2e-act', { env: services.agentEnv(path.join(dir, 'agent')) })
    const res = await c.api('POST', '/clients', {
      data: {
        type: 'clients',
        attributes: {
          name: 'Actions Lab',
          slug: 'lab-act',
          server: server.id,
          image: services.images.good1,
          ownerLogin: 'owner',
          ownerEmail: 'o@lab.example.com',
          ownerPassword: 'First-Lab-Secret-11',
          expireDate: '2031-01-01',
        },
      },
    })
    clientId = res.json.data.id
    domain = res.json.data.attributes.domain
    await waitUntil(
      async () => (await c.api('GET', `/clients/${clientId}/create_log`)).json.data.attributes.completed !== null,
      { timeoutMs: 120_000, what: 'the create' },
    )
    expect((await c.api('GET', `/clients/${clientId}/create_log`)).json.data.attributes.completed).toBe('ok')
    db = await mysql.createConnection({
      host: '127.0.0.1',
      port: services.mariadb.port,
      user: services.mariadb.adminUser,
      password: services.mariadb.adminPassword,
      database: 'alfa_lab_act',
    })
  }, 300_000)
  afterAll(async () => {
    await db?.end()
    await c?.stop()
    await removeServerContainers([server?.id].filter(Boolean) as string[])
    await services?.docker
      .getImage(`${OTHER_REPO}:broken-migrate`)
      .remove()
      .catch(() => undefined)
    await services?.stop()
  })

  it('maintenance on/off shows through nginx and in the app, and holds while the container is stopped', async () => {
    expect((await act('POST', `/clients/${clientId}/maintain_enable`)).attributes.status).toBe('succeeded')
    const blocked = await page()
    expect(blocked.status).toBe(503)
    expect(blocked.body.toLowerCase()).toContain('maintenance')
    // In Russian first, the customers' language, then English.
    expect(blocked.body).toMatch(/<html lang="ru">.*<h1>Технические работы<\/h1>.*<h1 lang="en">Maintenance<\/h1>/s)
    expect((await rows('SELECT maintenance FROM cloud_settings'))[0]!.maintenance).toBe(1)
    // Behind nginx, the app itself reads the setting from its database and shows its own notice.
    const info = await services.docker.getContainer('alfa-lab-act').inspect()
    const bindings = (info.HostConfig.PortBindings ?? {}) as Record<string, { HostPort: string }[]>
    const hostPort = Object.values(bindings)[0]?.[0]?.HostPort
    const direct = await fetch(`http://127.0.0.1:${hostPort}/api/settings`)
    expect(await direct.json()).toMatchObject({ notice: 'maintenance', settings: { maintenance: true } })
    expect((await c.api('GET', `/clients/${clientId}`)).json.data.attributes.maintenance).toBe(true)
    const container = services.docker.getContainer('alfa-lab-act')
    await container.stop()
    expect((await page()).status).toBe(503)
    await container.start()
    expect((await act('GET', `/clients/${clientId}/maintain_disable`)).attributes.status).toBe('succeeded')
    await waitUntil(async () => (await page('/health')).status === 200, { timeoutMs: 30_000, what: 'the app back' })
    expect(JSON.parse((await page('/api/settings')).body).settings.maintenance).toBe(false)
  })

  it('demo_enable then demo_disable changes the demo rows and back, exactly', async () => {
    const before = await rows('SELECT * FROM demo_rows ORDER BY id')
    expect((await act('GET', `/clients/${clientId}/demo_enable`)).attributes.status).toBe('succeeded')
    expect((await rows("SELECT * FROM demo_rows WHERE demo_batch = 'demo'")).length).toBe(5)
    expect((await c.api('GET', `/clients/${clientId}`)).json.data.attributes.demo).toBe(true)
    expect((await act('POST', `/clients/${clientId}/demo_disable`)).attributes.status).toBe('succeeded')
    expect(await rows('SELECT * FROM demo_rows ORDER BY id')).toEqual(before)
  })

  it('owner_password changes the user row; the password is in no log line and no API response', async () => {
    const res = await c.api('POST', `/clients/${clientId}/owner_password`, {
      data: { type: 'owner-passwords', attributes: { password: NEW_PASSWORD } },
    })
    expect(res.status).toBe(202)
    const op = await c.waitOperation(res.json.data.id, 60_000)
    expect(op.attributes.status).toBe('succeeded')
    const owner = (await rows("SELECT password_hash FROM users WHERE login = 'owner'"))[0]!
    expect(await verifyPassword(NEW_PASSWORD, String(owner.password_hash))).toBe(true)
    const full = await c.api('GET', `/operations/${op.id}`)
    const everything = [
      JSON.stringify(res.json),
      JSON.stringify(full.json),
      JSON.stringify((await c.api('GET', `/clients/${clientId}`)).json),
      ...(await c.masterLog()).map((l) => JSON.stringify(l)),
      await readFile(path.join(c.dir, 'agent-e2e-act-1.log'), 'utf8'),
    ].join('\n')
    expect(everything).not.toContain(NEW_PASSWORD)
  })

  it('an expire date in the past blocks the site through nginx at once; a future date lifts it; history shows both', async () => {
    const past = await c.api('POST', `/clients/${clientId}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2020-01-01', reason: 'unpaid' } },
    })
    expect(past.status).toBe(200)
    await waitUntil(async () => (await page()).status === 403, { timeoutMs: 30_000, what: 'the expiry page' })
    expect((await page()).body.toLowerCase()).toContain('expired')
    const future = await c.api('POST', `/clients/${clientId}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2032-06-30', reason: 'paid' } },
    })
    expect(future.status).toBe(200)
    await waitUntil(async () => (await page('/health')).status === 200, { timeoutMs: 30_000, what: 'the block lifted' })
    // The block may lift before cloud_settings is written: when the past date's operation still ran, the new date
    // is recorded and the expiry enforcer (or the operation) brings the server in line a moment later.
    await waitUntil(async () => JSON.parse((await page('/api/settings')).body).settings.expire_date === '2032-06-30', {
      timeoutMs: 60_000,
      what: 'cloud_settings to hold the new date',
    })
    const history = (await c.api('GET', `/clients/${clientId}/expire_dates_history`)).json.data.map(
      (h: { attributes: { newDate: string; reason: string } }) => [h.attributes.newDate, h.attributes.reason],
    )
    expect(history.slice(0, 2)).toEqual([
      ['2032-06-30', 'paid'],
      ['2020-01-01', 'unpaid'],
    ])
    // The page changes before the operation ends (it still writes cloud_settings and confirms through nginx), and
    // the enforcer may be the one lifting the block: let whatever runs on the client end before the next test.
    await waitUntil(
      async () =>
        (await c.api('GET', `/operations?filter[client]=${clientId}&filter[status]=running`)).json.meta.total === 0,
      { timeoutMs: 60_000, what: 'no operation running on the client' },
    )
  })

  it('an update of turbostart, tutorial and the expire date reaches the app and nginx through an operation', async () => {
    const update = (attributes: Record<string, unknown>) =>
      c.api('POST', '/clients', { data: { type: 'clients', id: clientId, attributes } })
    const settings = async () =>
      (
        await rows(
          "SELECT turbostart, tutorial, DATE_FORMAT(expire_date, '%Y-%m-%d') AS expire_date FROM cloud_settings",
        )
      )[0]
    const before = await settings()
    const blocked = await update({
      turbostart: !before!.turbostart,
      tutorial: !before!.tutorial,
      expireDate: '2020-01-02',
    })
    expect(blocked.status, JSON.stringify(blocked.json)).toBe(200)
    const first = await c.waitOperation(blocked.json.data.meta.operation.id, 60_000)
    expect(first.attributes).toMatchObject({ kind: 'client.settings', status: 'succeeded' })
    // Confirmed through nginx before it succeeded: the expiry page is served at once, the app's row holds the rest.
    expect((await page()).status).toBe(403)
    expect(await settings()).toEqual({
      turbostart: before!.turbostart ? 0 : 1,
      tutorial: before!.tutorial ? 0 : 1,
      expire_date: '2020-01-02',
    })
    const lifted = await update({ expireDate: '2032-06-30' })
    expect(lifted.status).toBe(200)
    await c.waitOperation(lifted.json.data.meta.operation.id, 60_000)
    expect((await page('/health')).status).toBe(200)
    expect(JSON.parse((await page('/api/settings')).body).settings).toMatchObject({
      expire_date: '2032-06-30',
      turbostart: !before!.turbostart,
      tutorial: !before!.tutorial,
    })
    // Nothing the server shows changed: no operation.
    const renamed = await update({ name: 'Actions Lab (renamed)' })
    expect(renamed.status).toBe(200)
    expect(renamed.json.data.meta).toBeUndefined()
  })

  it('an update made while a reboot runs reaches the app once the reboot ended', async () => {
    const turbostart = async () => Boolean((await rows('SELECT turbostart FROM cloud_settings'))[0]!.turbostart)
    const before = await turbostart()
    const reboot = await c.api('POST', `/clients/${clientId}/reboot`)
    expect(reboot.status).toBe(202)
    const upd = await c.api('POST', '/clients', {
      data: { type: 'clients', id: clientId, attributes: { turbostart: !before } },
    })
    expect(upd.status, JSON.stringify(upd.json)).toBe(200)
    expect(upd.json.data.meta.pending).toMatch(/goes to the server once the client is free/)
    expect((await c.waitOperation(reboot.json.data.id, 120_000)).attributes.status).toBe('succeeded')
    // The enforcer's next pass (every second here) sends it: an operation of its own, confirmed through nginx.
    await waitUntil(async () => (await turbostart()) === !before, { timeoutMs: 60_000, what: 'turbostart applied' })
    const ops = (await c.api('GET', `/operations?filter[client]=${clientId}&filter[kind]=client.settings`)).json.data
    const applied = await c.waitOperation(ops[0].id, 60_000)
    expect(applied.attributes).toMatchObject({ status: 'succeeded', requestedBy: 'pending-settings' })
    expect(JSON.parse((await page('/api/settings')).body).settings.turbostart).toBe(!before)
  })

  it('two concurrent actions on one client: one gets 409 naming the running operation', async () => {
    const [a, b] = await Promise.all([
      c.api('POST', `/clients/${clientId}/migrate`),
      c.api('POST', `/clients/${clientId}/reboot`),
    ])
    const statuses = [a.status, b.status].sort()
    expect(statuses).toEqual([202, 409])
    const [won, lost] = a.status === 202 ? [a, b] : [b, a]
    expect(lost.json.errors[0]).toMatchObject({ code: 'operation_running', meta: { operationId: won.json.data.id } })
    await c.waitOperation(won.json.data.id, 120_000)
  })

  it('switch to a good image upgrades the version; a broken one rolls back with the database as it was', async () => {
    const good = await act('GET', `/clients/${clientId}/switch/${encodeURIComponent(services.images.good2)}`)
    expect(good.attributes.status).toBe('succeeded')
    expect(JSON.parse((await page('/api/settings')).body).appVersion).toBe('2.0.0')
    expect((await c.api('GET', `/clients/${clientId}`)).json.data.attributes).toMatchObject({
      image: services.images.good2,
      version: '2.0.0',
    })
    const snapshot = async () => ({
      tables: await rows('SHOW TABLES'),
      users: await rows('SELECT * FROM users ORDER BY id'),
      settings: await rows('SELECT * FROM cloud_settings'),
    })
    const before = await snapshot()
    const broken = await act('POST', `/clients/${clientId}/switch/${encodeURIComponent(services.images.brokenMigrate)}`)
    expect(broken.attributes.status).toBe('failed')
    expect(JSON.parse((await page('/api/settings')).body).appVersion).toBe('2.0.0')
    expect(await snapshot()).toEqual(before)
    const unhealthy = await act(
      'POST',
      `/clients/${clientId}/switch/${encodeURIComponent(services.images.brokenHealth)}`,
    )
    expect(unhealthy.attributes.status).toBe('failed')
    expect((await page('/health')).status).toBe(200)
    expect(await snapshot()).toEqual(before)
    expect((await c.api('GET', `/clients/${clientId}`)).json.data.attributes.version).toBe('2.0.0')
  })

  it('a failed switch to an image of another profile confirms the old version on its own health path', async () => {
    const before = (await c.api('GET', `/clients/${clientId}`)).json.data.attributes.image
    const failed = await act(
      'POST',
      `/clients/${clientId}/switch/${encodeURIComponent(`${OTHER_REPO}:broken-migrate`)}`,
    )
    expect(failed.attributes.status).toBe('failed')
    expect(failed.attributes.error.data.step).toBe('migrate')
    const messages = (failed.attributes.log as { message: string }[]).map((l) => l.message)
    // Before: the rollback probed the new image's /up on the old version (404) until the health timeout, then
    // warned "after the rollback … did not answer 2xx" although the old version served.
    expect(messages).toContainEqual(
      `rolled back: the old version answers again (http://${domain}/health through nginx: 200)`,
    )
    expect(messages.filter((m) => m.startsWith('after the rollback'))).toEqual([])
    expect((await page('/health')).status).toBe(200)
    expect((await c.api('GET', `/clients/${clientId}`)).json.data.attributes.image).toBe(before)
  })
})
