// client.app / client.configure / client.restart on a client made by client.create (MariaDB, fixture 1.0.0),
// through the agent's real dispatcher against a private nginx and MariaDB.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { dbNameForSlug, type ClientAppPayload, type ClientCreatePayload, type ClientSettings } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../packages/demo-app/src/app/password.ts'
import { fetchVhost } from '../support/nginx.ts'
import { waitUntil } from '../support/process.ts'
import { clientQuery, mainContainer } from './client-db.ts'
import { allLines, FIXTURE_PROFILE, startAgentClientEnv, type AgentClientEnv, type Run } from './harness.ts'

let env: AgentClientEnv
let p: ClientCreatePayload
const dbName = dbNameForSlug('act-lab')

beforeAll(async () => {
  // A short health window: the unhealthy-restart test waits all of it.
  env = await startAgentClientEnv({ ALFA_AGENT_HEALTH_TIMEOUT_MS: '6000' })
  p = env.createPayload('act-lab')
  const run = await env.run('client.create', p)
  expect(run.result, allLines(run)).toMatchObject({ ok: true })
})
afterAll(async () => {
  await env?.stop()
})

const app = (action: ClientAppPayload['action'], extra: Partial<ClientAppPayload> = {}) =>
  env.run('client.app', { slug: p.slug, action, profile: FIXTURE_PROFILE, dbEngine: 'mariadb', ...extra })
const configure = (settings: ClientSettings, expired: boolean) =>
  env.run('client.configure', { clientId: p.clientId, slug: p.slug, dbEngine: 'mariadb', settings, expired })
const page = (urlPath = '/') => fetchVhost(env.nginx.port, p.domain, urlPath)
const errorOf = (run: Run) =>
  (run.result as { error: { code: string; message: string; data?: Record<string, unknown> } }).error
const demoRows = () => clientQuery(env, dbName, 'SELECT id, label, demo_batch FROM demo_rows ORDER BY id')

describe('client.app', () => {
  it('demoSeed then demoUnseed changes the demo rows and back, exactly', async () => {
    await clientQuery(env, dbName, "INSERT INTO demo_rows (label, demo_batch) VALUES ('made by a user', NULL)")
    const before = await demoRows()
    const seeded = await app('demoSeed')
    expect(seeded.result, JSON.stringify(seeded.result) + allLines(seeded)).toMatchObject({
      ok: true,
      data: { exitCode: 0 },
    })
    expect(
      seeded.logs.some((l) => l.step === 'demo-seed' && l.stream === 'stdout' && l.line.includes('Demo data seeded')),
    ).toBe(true)
    const during = await demoRows()
    expect(during.filter((r) => r.demo_batch === 'demo')).toHaveLength(5)
    expect(during.filter((r) => r.demo_batch !== 'demo')).toEqual(before)
    const unseeded = await app('demoUnseed')
    expect(unseeded.result, allLines(unseeded)).toMatchObject({ ok: true })
    expect(await demoRows()).toEqual(before)
  })

  it('setOwnerPassword changes the owner row; the password is in no log line, result or agent log', async () => {
    const password = `New-${randomUUID()}`
    const run = await app('setOwnerPassword', { ownerLogin: 'owner@lab', ownerPassword: password })
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { exitCode: 0 } })
    const [owner] = await clientQuery(
      env,
      dbName,
      "SELECT password_hash, is_owner FROM users WHERE login = 'owner@lab'",
    )
    expect(await verifyPassword(password, String(owner?.password_hash))).toBe(true)
    expect(await verifyPassword(p.ownerPassword, String(owner?.password_hash))).toBe(false)
    expect(JSON.stringify(run)).not.toContain(password)
    expect(env.loggerOutput()).not.toContain(password)

    const missing = await app('setOwnerPassword', { ownerLogin: 'owner@lab' })
    expect(missing.result).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } })
  })

  it('usersCount runs the profile SELECT on the client database', async () => {
    const run = await app('usersCount')
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { exitCode: 0, usersCount: 1 } })
  })

  it("a failing command fails EXEC_FAILED naming the action, with the app's output tail", async () => {
    const run = await app('migrate', {
      profile: { ...FIXTURE_PROFILE, migrate: ['node', '/app/app.js', 'no-such-command'] },
    })
    const error = errorOf(run)
    expect(error).toMatchObject({ code: 'EXEC_FAILED', data: { step: 'migrate', exitCode: 1 } })
    expect(error.message).toMatch(/^migrate failed: /)
    expect(String(error.data?.stderrTail)).not.toBe('')
    expect(run.progress.at(-1)).toMatchObject({ step: 'migrate', status: 'failed' })
  })
})

describe('client.configure', () => {
  const base = (): ClientSettings => ({ ...p.settings })

  it('maintenance on: nginx serves its page, also with the container stopped; off: the app again', async () => {
    const on = await configure({ ...base(), maintenance: true }, false)
    expect(on.result, allLines(on)).toMatchObject({ ok: true, data: { maintenance: true, expired: false } })
    // Idempotent: the same state again is a success that changes nothing.
    expect((await configure({ ...base(), maintenance: true }, false)).result).toMatchObject({
      ok: true,
      data: { maintenance: true },
    })
    const shown = await page('/')
    expect(shown.status).toBe(503)
    expect(shown.body).toContain('Maintenance')
    expect(await clientQuery(env, dbName, 'SELECT maintenance FROM cloud_settings')).toEqual([{ maintenance: 1 }])
    await env.docker.getContainer(mainContainer(p.slug)).stop({ t: 2 })
    expect((await page('/anything')).status).toBe(503)
    await env.docker.getContainer(mainContainer(p.slug)).start()

    const off = await configure(base(), false)
    expect(off.result, allLines(off)).toMatchObject({ ok: true, data: { maintenance: false, expired: false } })
    await waitUntil(async () => (await page('/health')).status === 200, { timeoutMs: 20_000, what: 'the app back' })
    const body = (await page('/')).body
    expect(body).toContain('<p id="version">version 1.0.0</p>')
    expect(body).toContain('<dd id="setting-maintenance">false</dd>')
  })

  it('expired: the expiry page; extended: the app, reading the new cloud_settings', async () => {
    const expired = await configure({ ...base(), expireDate: '2020-01-31' }, true)
    expect(expired.result, allLines(expired)).toMatchObject({ ok: true, data: { maintenance: false, expired: true } })
    const shown = await page('/')
    expect(shown.status).toBe(403)
    expect(shown.body).toContain('Subscription expired')
    expect(shown.body).toContain('<h1>Срок подписки истёк</h1>')

    const settings: ClientSettings = {
      maintenance: false,
      expireDate: '2032-06-30',
      turbostart: false,
      tutorial: true,
      version: '1.0.0',
    }
    const extended = await configure(settings, false)
    expect(extended.result).toMatchObject({ ok: true, data: { expired: false } })
    const api = await page('/api/settings')
    expect(api.status).toBe(200)
    expect(JSON.parse(api.body)).toMatchObject({
      settings: { maintenance: false, expire_date: '2032-06-30', turbostart: false, tutorial: true, version: '1.0.0' },
      notice: null,
    })
  })
})

describe('client.configure confirms through nginx', () => {
  it("fails naming the flag when nginx's workers (www-data) cannot see it, and claims no page in its log", async () => {
    const pagesDir = env.config.pagesDir
    await fs.chmod(pagesDir, 0o700)
    try {
      const run = await configure({ ...p.settings, maintenance: true }, false)
      expect(run.result.ok, allLines(run)).toBe(false)
      const error = errorOf(run)
      expect(error.code).toBe('NGINX_ERROR')
      expect(error.message).toMatch(/^confirm failed: http:\/\/act-lab\.clients\.test\/ through nginx: /)
      expect(error.message).toContain("expected nginx's maintenance page (503), got 200 from the app")
      expect(error.message).toContain(`cannot see the flag ${path.join(pagesDir, 'act-lab.maintenance')}`)
      expect(error.message).toContain(`${pagesDir} is mode 0700`)
      expect(run.progress.at(-1)).toMatchObject({ step: 'confirm', status: 'failed' })
      expect(allLines(run)).not.toMatch(/serves the maintenance page/)
      // What a visitor gets is what the error said.
      expect((await page('/')).status).toBe(200)
    } finally {
      await fs.chmod(pagesDir, 0o755)
    }
    const fixed = await configure({ ...p.settings, maintenance: true }, false)
    expect(fixed.result, allLines(fixed)).toMatchObject({ ok: true })
    expect(allLines(fixed)).toContain("answers 503 from nginx's maintenance page")
    expect((await configure(p.settings, false)).result).toMatchObject({ ok: true })
  })

  it('a new domain answers and the old one no longer reaches the client before success', async () => {
    const moved = await env.run('client.configure', {
      clientId: p.clientId,
      slug: p.slug,
      dbEngine: 'mariadb',
      settings: p.settings,
      expired: false,
      domain: 'act-moved.clients.test',
    })
    expect(moved.result, allLines(moved)).toMatchObject({ ok: true })
    expect(allLines(moved)).toContain('http://act-lab.clients.test/ no longer reaches act-lab')
    expect((await fetchVhost(env.nginx.port, 'act-moved.clients.test', '/health')).status).toBe(200)
    expect((await page('/health')).status).toBe(404)
    const back = await env.run('client.configure', {
      clientId: p.clientId,
      slug: p.slug,
      dbEngine: 'mariadb',
      settings: p.settings,
      expired: false,
      domain: p.domain,
    })
    expect(back.result, allLines(back)).toMatchObject({ ok: true })
    expect((await page('/health')).status).toBe(200)
  })
})

describe('client.restart', () => {
  it('restarts the container and reports it healthy through nginx', async () => {
    const before = await env.docker.getContainer(mainContainer(p.slug)).inspect()
    const run = await env.run('client.restart', { slug: p.slug, domain: p.domain, profile: FIXTURE_PROFILE })
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { healthy: true } })
    expect(run.progress.filter((f) => f.status === 'done').map((f) => f.step)).toEqual(['restart', 'health'])
    const after = await env.docker.getContainer(mainContainer(p.slug)).inspect()
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt)
    expect(allLines(run)).toContain('through nginx answered 200')
  })

  it('in maintenance, probes the container directly (nginx answers with its page)', async () => {
    await configure({ ...p.settings, maintenance: true }, false)
    const run = await env.run('client.restart', { slug: p.slug, domain: p.domain, profile: FIXTURE_PROFILE })
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { healthy: true } })
    expect(allLines(run)).toContain('directly: nginx serves the maintenance/expiry page')
    await configure(p.settings, false)
  })

  it('fails naming health when the app does not come back healthy', async () => {
    const run = await env.run('client.restart', {
      slug: p.slug,
      domain: p.domain,
      profile: { ...FIXTURE_PROFILE, healthPath: '/no-such-health' },
    })
    expect(run.result.ok).toBe(false)
    expect(errorOf(run).message).toMatch(/^health failed: .*no-such-health.* \(last status 404\)$/)
  })
})
