// client.switch on a client made by client.create (MariaDB, fixture 1.0.0): an upgrade to 2.0.0, then two broken
// images that must roll back to exactly the database and the container the client had.
import fs from 'node:fs/promises'
import { dbNameForSlug, type ClientCreatePayload, type ClientSwitchResult } from '@alfa/protocol'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientSwitchPayload } from '../support/create-payload.ts'
import { fetchVhost } from '../support/nginx.ts'
import { tailFile } from '../support/process.ts'
import { clientQuery, containersOf, containerStory, databasePicture, mainContainer } from './client-db.ts'
import { allLines, FIXTURE_PROFILE, startAgentClientEnv, type AgentClientEnv, type Run } from './harness.ts'

let env: AgentClientEnv
let p: ClientCreatePayload
const slug = 'switch-lab'
const dbName = dbNameForSlug(slug)

beforeAll(async () => {
  // A short health window: the broken-health switch waits all of it before rolling back.
  env = await startAgentClientEnv({ ALFA_AGENT_HEALTH_TIMEOUT_MS: '6000' })
  p = env.createPayload(slug)
  const run = await env.run('client.create', p)
  expect(run.result, allLines(run)).toMatchObject({ ok: true })
  const seeded = await env.run('client.app', {
    slug,
    action: 'demoSeed',
    profile: FIXTURE_PROFILE,
    dbEngine: 'mariadb',
  })
  expect(seeded.result).toMatchObject({ ok: true })
})
afterAll(async () => {
  await env?.stop()
})

const switchTo = (image: string): Promise<Run> => env.run('client.switch', clientSwitchPayload(p, image))
const page = (urlPath = '/') => fetchVhost(env.nginx.port, p.domain, urlPath)
const errorOf = (run: Run) => (run.result as { error: { code: string; message: string } }).error
const snapshotPath = (run: Run) =>
  /dumped to (\S+) /.exec(
    run.logs
      .filter((l) => l.step === 'snapshot')
      .map((l) => l.line)
      .join('\n'),
  )?.[1]

/** After a failed switch: the old 2.0.0 answers through nginx, the database equals its picture, one container left. */
async function expectRolledBack(run: Run, before: Awaited<ReturnType<typeof databasePicture>>) {
  const rollback = run.logs.filter((l) => l.step === 'rollback').map((l) => l.line)
  expect(rollback.filter((line) => line.startsWith('rolled back: '))).toHaveLength(rollback.length)
  expect(rollback.join('\n')).toContain('restored from the snapshot')
  expect(rollback.join('\n')).toContain('the old version answers again')
  expect((await page('/')).body).toContain('<p id="version">version 2.0.0</p>')
  expect(await databasePicture(env, dbName)).toEqual(before)
  const left = await containersOf(env, slug)
  expect(left.map((c) => [c.name, c.state])).toEqual([[mainContainer(slug), 'running']])
}

describe('client.switch', () => {
  it('to 2.0.0: snapshot, new container beside, migrate, health, site, settings, cleanup; the page shows 2.0.0', async () => {
    const started = Date.now()
    const run = await switchTo(env.images.good2)
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { image: env.images.good2, version: '2.0.0' } })
    console.info(`client.switch to 2.0.0 took ${Date.now() - started} ms`)
    const steps = ['snapshot', 'start-new', 'migrate', 'health', 'switch-site', 'settings', 'cleanup']
    expect(run.progress.filter((f) => f.status === 'done').map((f) => f.step)).toEqual(steps)
    const snapshot = snapshotPath(run)
    expect((await fs.stat(snapshot!)).mode & 0o777).toBe(0o600)

    // One answer, as the next visitor gets it: the switch reports success only after nginx's reload reached every
    // worker (RELOAD_SETTLE_MS). Should it fail, with the run's log, the containers' story and nginx's errors.
    const served = await page('/')
    const why =
      served.status === 200
        ? ''
        : `${allLines(run)}\n${await containerStory(env, slug)}\n${await tailFile(env.nginx.errorLogPath, 8)}`
    expect(served.body, why).toContain('<p id="version">version 2.0.0</p>')
    expect(JSON.parse((await page('/api/settings')).body)).toMatchObject({
      appVersion: '2.0.0',
      settings: { version: '2.0.0' },
    })
    expect(
      await clientQuery(
        env,
        dbName,
        "SELECT 1 AS ok FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'users' AND COLUMN_NAME = 'last_login'",
        [dbName],
      ),
    ).toEqual([{ ok: 1 }])
    const left = await containersOf(env, slug)
    expect(left).toEqual([
      {
        name: mainContainer(slug),
        id: (run.result as { data: ClientSwitchResult }).data.containerId,
        state: 'running',
      },
    ])
    expect(allLines(run)).not.toMatch(/DB_PASSWORD/)
  })

  it('to broken-health: fails naming health and rolls back (old version answers, database equals its snapshot)', async () => {
    const before = await databasePicture(env, dbName)
    const started = Date.now()
    const run = await switchTo(env.images.brokenHealth)
    console.info(`client.switch to broken-health (rolled back) took ${Date.now() - started} ms`)
    expect(run.result.ok).toBe(false)
    expect(errorOf(run).message).toMatch(/^health failed: .*\(last status 503\)$/)
    // Its migrate ran (adding user_notes) before health failed: only the restore takes that away.
    expect(run.progress.filter((f) => f.status === 'done').map((f) => f.step)).toEqual([
      'snapshot',
      'start-new',
      'migrate',
    ])
    await expectRolledBack(run, before)
    expect(Object.keys(before)).not.toContain('user_notes')
  })

  it('to broken-migrate: fails naming migrate; the half-made user_notes table is gone after the restore', async () => {
    // A `-next` container an interrupted earlier switch left behind (never serving the site) is cleared first.
    const labels = { 'alfa.server': env.serverId, 'alfa.client': p.clientId, 'alfa.slug': slug }
    await env.docker.createContainer({ name: `${mainContainer(slug)}-next`, Image: env.images.good2, Labels: labels })
    const before = await databasePicture(env, dbName)
    const run = await switchTo(env.images.brokenMigrate)
    expect(allLines(run)).toContain(`removed ${mainContainer(slug)}-next left by an interrupted switch`)
    expect(run.result.ok).toBe(false)
    expect(errorOf(run)).toMatchObject({ code: 'EXEC_FAILED' })
    expect(errorOf(run).message).toMatch(/^migrate failed: /)
    expect(run.logs.some((l) => l.step === 'migrate' && l.line.includes('user_notes'))).toBe(true)
    await expectRolledBack(run, before)
    expect(Object.keys(await databasePicture(env, dbName))).not.toContain('user_notes')
  })
})

describe('client.switch refusals', () => {
  it('an image this server does not have: NOT_FOUND before any snapshot or container', async () => {
    const run = await switchTo('alfa-test/app:no-such-version')
    expect(run.result).toMatchObject({
      ok: false,
      error: {
        code: 'NOT_FOUND',
        message: 'image alfa-test/app:no-such-version is not on this server (GET /servers/{id}/images lists what is)',
      },
    })
    expect(run.progress).toEqual([])
    expect((await containersOf(env, slug)).map((c) => c.name)).toEqual([mainContainer(slug)])
  })
})

describe('client.switch on PostgreSQL', () => {
  /** Table → columns of a client's PostgreSQL database, and its users. */
  async function pgPicture(name: string) {
    const url = new URL(env.postgres.url)
    url.pathname = `/${name}`
    const c = new pg.Client({ connectionString: url.toString() })
    await c.connect()
    try {
      const columns = await c.query(
        "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
      )
      const owners = await c.query(
        "SELECT tablename AS t, tableowner AS o FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      )
      const users = await c.query('SELECT * FROM users ORDER BY id')
      return { columns: columns.rows, owners: owners.rows, users: users.rows }
    } finally {
      await c.end()
    }
  }

  it('a failed migrate restores the database (recreated, owned by the client role) and restarts the old container', async () => {
    const q = env.createPayload('pg-switch', { dbEngine: 'postgresql' })
    expect((await env.run('client.create', q)).result).toMatchObject({ ok: true })
    const name = dbNameForSlug(q.slug)
    const before = await pgPicture(name)
    const run = await env.run('client.switch', clientSwitchPayload(q, env.images.brokenMigrate))
    expect(errorOf(run).message).toMatch(/^migrate failed: /)
    expect(allLines(run)).toContain('restarted (the restore ended its database connections)')
    expect(allLines(run)).toContain('the old version answers again')
    // broken-migrate also applied 2.0.0's last_login before failing: the restore takes both away.
    expect(await pgPicture(name)).toEqual(before)
    const shown = await fetchVhost(env.nginx.port, q.domain, '/')
    expect(shown.body).toContain('<p id="version">version 1.0.0</p>')
    expect(shown.body).toContain('<p id="users">users: 1</p>')
  })
})
