// client.create / client.delete / client.probe on the agent, driven through its real dispatcher against a private
// nginx, MariaDB, PostgreSQL and the fixture app images: nothing the agent operates is mocked.
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import {
  containerNameForSlug,
  dbNameForSlug,
  type ClientCreateResult,
  type ClientDeleteResult,
  type ClientProbeResult,
} from '@alfa/protocol'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../packages/demo-app/src/app/password.ts'
import { fetchVhost } from '../support/nginx.ts'
import { waitUntil } from '../support/process.ts'
import { clientQuery } from './client-db.ts'
import { allLines, FIXTURE_PROFILE, startAgentClientEnv, type AgentClientEnv } from './harness.ts'

let env: AgentClientEnv

beforeAll(async () => {
  env = await startAgentClientEnv()
})
afterAll(async () => {
  await env?.stop()
})

const containerExists = async (slug: string) =>
  (await env.docker.listContainers({ all: true, filters: { name: [`^/${containerNameForSlug(slug)}$`] } })).length > 0
const siteExists = (slug: string) => existsSync(path.join(env.nginx.confDir, `alfa-${slug}.conf`))
async function mariadbHas(name: string): Promise<{ database: boolean; user: boolean }> {
  const dbs = await clientQuery(env, null, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])
  const users = await clientQuery(env, null, 'SELECT 1 FROM mysql.user WHERE User = ?', [name])
  return { database: dbs.length > 0, user: users.length > 0 }
}

describe('client.create on MariaDB with the 1.0.0 fixture', () => {
  const payload = () => env.createPayload('acme-lab')
  let p: ReturnType<typeof payload>
  let created: ClientCreateResult

  it('runs every step, and the domain serves the app reading its own cloud_settings through nginx', async () => {
    p = payload()
    const started = Date.now()
    const run = await env.run('client.create', p)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    created = (run.result as { data: ClientCreateResult }).data
    expect(created).toMatchObject({
      containerName: 'alfa-acme-lab',
      dbName: 'alfa_acme_lab',
      url: 'http://acme-lab.clients.test',
      tls: false,
      // The payload names no version: the image's alfa.version label is the version from the first minute.
      version: '1.0.0',
    })
    const steps = ['database', 'container', 'nginx', 'tls', 'settings', 'migrate', 'owner', 'health']
    expect(run.progress.filter((f) => f.status === 'done').map((f) => f.step)).toEqual(steps)
    expect(run.logs.some((l) => l.step === 'migrate' && l.stream === 'stdout' && l.line.includes('Migrated:'))).toBe(
      true,
    )
    expect(run.logs.find((l) => l.step === 'tls')?.line).toContain('skipped')
    console.info(`client.create (MariaDB) took ${Date.now() - started} ms`)

    const page = await fetchVhost(env.nginx.port, p.domain, '/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('<p id="version">version 1.0.0</p>')
    expect(page.body).toContain('<dd id="setting-expire_date">2031-12-31</dd>')
    expect(page.body).toContain('<dd id="setting-turbostart">true</dd>')
    expect(page.body).toContain('<p id="users">users: 1</p>')
    expect(page.body).toContain('<dd id="setting-version">1.0.0</dd>')
    expect((await env.docker.getContainer('alfa-acme-lab').inspect()).Config.Env).toContain('APP_VERSION=1.0.0')
  })

  it('made the owner with the password from stdin; the password is in no log line, result or agent log', async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: env.mariadb.port,
      user: env.mariadb.adminUser,
      password: env.mariadb.adminPassword,
      database: created.dbName,
    })
    try {
      const [rows] = await c.query('SELECT login, password_hash, is_owner FROM users')
      const users = rows as { login: string; password_hash: string; is_owner: number }[]
      expect(users.map((u) => [u.login, u.is_owner])).toEqual([['owner@lab', 1]])
      expect(await verifyPassword(p.ownerPassword, users[0]!.password_hash)).toBe(true)
    } finally {
      await c.end()
    }
    const { dbAdminFor } = await import('../../packages/agent/src/drivers/database.ts')
    expect(await dbAdminFor('mariadb', env.deps).count(created.dbName, FIXTURE_PROFILE.usersCountSql)).toBe(1)
    expect(env.loggerOutput()).not.toContain(p.ownerPassword)
    expect(JSON.stringify(created)).not.toContain(p.ownerPassword)
  })

  it('client.probe reports it available through nginx', async () => {
    const run = await env.run('client.probe', { slug: p.slug, domain: p.domain, healthPath: '/health' })
    expect(run.result).toMatchObject({ ok: true, data: { available: true, statusCode: 200 } })
    const data = (run.result as { data: ClientProbeResult }).data
    expect(data.checkedAt).toBeGreaterThan(0)
  })

  it('serves the maintenance page from nginx itself while the flag file exists, even with the container stopped', async () => {
    const flag = path.join(env.config.pagesDir, `${p.slug}.maintenance`)
    await env.docker.getContainer(created.containerId).stop({ t: 2 })
    expect((await fetchVhost(env.nginx.port, p.domain, '/')).status).toBe(502)
    await fs.writeFile(flag, '')
    const page = await fetchVhost(env.nginx.port, p.domain, '/some/page')
    expect(page.status).toBe(503)
    expect(page.body).toContain('Maintenance')
    await fs.rm(flag)
    await env.docker.getContainer(created.containerId).start()
    await waitUntil(async () => (await fetchVhost(env.nginx.port, p.domain, '/health')).status === 200, {
      timeoutMs: 20_000,
      what: 'the app back',
    })
  })

  it('re-running create for the same slug converges (database reused, container replaced)', async () => {
    const run = await env.run('client.create', { ...p, ownerPassword: 'Second-password-1' })
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(allLines(run)).toContain('reused')
    expect(allLines(run)).toContain('left by an earlier run')
    expect((await fetchVhost(env.nginx.port, p.domain, '/')).body).toContain('<p id="users">users: 1</p>')
  })

  it('client.delete dumps, then removes container, site, database and user; a second delete removes nothing', async () => {
    const run = await env.run('client.delete', { clientId: p.clientId, slug: p.slug, dbEngine: 'mariadb' })
    expect(run.result, allLines(run)).toMatchObject({
      ok: true,
      data: { removed: { container: true, site: true, database: true } },
    })
    const { dumpPath } = (run.result as { data: ClientDeleteResult }).data
    expect(dumpPath).toMatch(new RegExp(`^${env.config.backupDir}/acme-lab-.*\\.sql$`))
    const stat = await fs.stat(dumpPath!)
    expect(stat.size).toBeGreaterThan(0)
    expect(stat.mode & 0o777).toBe(0o600)
    expect(await fs.readFile(dumpPath!, 'utf8')).toContain('CREATE TABLE `users`')
    expect(allLines(run)).toContain(dumpPath!)
    expect(await containerExists(p.slug)).toBe(false)
    expect(siteExists(p.slug)).toBe(false)
    expect(await mariadbHas(created.dbName)).toEqual({ database: false, user: false })
    // nginx's reload is asynchronous: an old worker may still answer (502, the container is gone) for a moment.
    await waitUntil(async () => (await fetchVhost(env.nginx.port, p.domain, '/')).status === 404, {
      timeoutMs: 10_000,
      what: 'the site gone from nginx',
    })

    const again = await env.run('client.delete', { clientId: p.clientId, slug: p.slug, dbEngine: 'mariadb' })
    expect(again.result).toMatchObject({
      ok: true,
      data: { dumpPath: null, removed: { container: false, site: false, database: false } },
    })
  })
})

describe('client.create failures', () => {
  it('a migrate that fails ends with an error naming migrate and leaves no container, site or database', async () => {
    const p = env.createPayload('broken-lab', { image: env.images.brokenMigrate })
    const run = await env.run('client.create', p)
    expect(run.result.ok).toBe(false)
    const error = (run.result as { error: { code: string; message: string; data?: Record<string, unknown> } }).error
    expect(error.message).toMatch(/^migrate failed: /)
    expect(error.data).toMatchObject({ step: 'migrate' })
    expect(run.progress.at(-1)).toMatchObject({ step: 'migrate', status: 'failed' })
    expect(run.logs.some((l) => l.step === 'migrate' && l.level === 'error')).toBe(true)
    const rollback = run.logs.filter((l) => l.step === 'rollback').map((l) => l.line)
    // Container, data volumes (made by this run), site, database.
    expect(rollback).toHaveLength(4)
    expect(rollback).toContain('rolled back: data volumes removed')
    const volumes = await env.docker.listVolumes({ filters: { label: [`alfa.slug=${p.slug}`] } })
    expect(volumes.Volumes ?? []).toEqual([])
    expect(await containerExists(p.slug)).toBe(false)
    expect(siteExists(p.slug)).toBe(false)
    expect(await mariadbHas(dbNameForSlug(p.slug))).toEqual({ database: false, user: false })
    expect(allLines(run)).not.toContain(p.ownerPassword)
  })

  it('refuses a hostile payload before touching anything', async () => {
    const p = env.createPayload('hostile-lab')
    const run = await env.run('client.create', { ...p, domain: 'x.test; include /etc/passwd' } as typeof p)
    expect(run.result).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } })
    expect(run.progress).toEqual([])
    expect(await containerExists(p.slug)).toBe(false)
  })
})

describe('client.create on PostgreSQL', () => {
  it('creates a working client whose role owns its database and cloud_settings, and deletes it with a dump', async () => {
    const p = env.createPayload('pg-lab', {
      dbEngine: 'postgresql',
      settings: { maintenance: false, expireDate: null, turbostart: false, tutorial: true, version: '1.0.0' },
    })
    const started = Date.now()
    const run = await env.run('client.create', p)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    console.info(`client.create (PostgreSQL) took ${Date.now() - started} ms`)
    const page = await fetchVhost(env.nginx.port, p.domain, '/')
    expect(page.body).toContain('<dd id="setting-tutorial">true</dd>')
    expect(page.body).toContain('<p id="users">users: 1</p>')
    expect(env.loggerOutput()).not.toContain(p.ownerPassword)

    const gone = await env.run('client.delete', { clientId: p.clientId, slug: p.slug, dbEngine: 'postgresql' })
    expect(gone.result, allLines(gone)).toMatchObject({
      ok: true,
      data: { removed: { container: true, site: true, database: true } },
    })
    const { dumpPath } = (gone.result as { data: ClientDeleteResult }).data
    expect(dumpPath).toMatch(new RegExp(`^${env.config.backupDir}/pg-lab-.*\\.dump$`))
    expect(await fs.readFile(dumpPath!, 'utf8')).toContain('CREATE TABLE public.cloud_settings')
    expect(await containerExists(p.slug)).toBe(false)
    expect(siteExists(p.slug)).toBe(false)
  })
})
