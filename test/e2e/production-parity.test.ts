// Production parity (issue 10): the agent installed by packages/agent/deploy/install.sh, run as its system user with
// the unit's environment and the shipped sudo rules, on Debian's own nginx (workers as www-data) and a MariaDB
// instance, enrolled with a real master; the whole client life walked through the master's REST API and checked
// where a visitor sees it: through nginx with the client's Host header. The test fixes nothing in the layout.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import mysql from 'mysql2/promise'
import { dbNameForSlug } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFixtureImages, type FixtureImages } from '../fixtures/app/build.ts'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'
import { isServingWorker, processTitle } from '../../packages/agent/src/drivers/nginx-workers.ts'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { bridgeGateway, removeContainersByLabel } from '../support/docker.ts'
import { mainContainer } from '../agent-client/client-db.ts'
import {
  AGENT_USER,
  enrollAsAgent,
  readableSource,
  resetAgentState,
  runAsAgent,
  runInstall,
  setAgentEnv,
  startSystemNginx,
  STATE_DIR,
  unitEnvironment,
  type SystemNginx,
} from '../support/installed-agent.ts'
import { startMariadb, type PrivateMariadb } from '../support/mariadb.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir, runCommand, waitUntil, type ServiceProcess } from '../support/process.ts'
import { verifyPassword } from '../../packages/demo-app/src/app/password.ts'

const NEW_PASSWORD = 'Parity-Lab-Secret-42'

describe('production parity: install.sh, Debian nginx as www-data, the agent as alfa-agent', () => {
  const slug = `parity-${randomBytes(3).toString('hex')}`
  const docker = new Docker()
  let dir: string
  let source: { dir: string; copied: boolean }
  let nginx: SystemNginx | undefined
  let mariadb: PrivateMariadb | undefined
  let images: FixtureImages
  let c: Cluster | undefined
  let agent: ServiceProcess | undefined
  let serverId: string | undefined
  let clientId: string
  let domain: string
  let db: mysql.Connection | undefined
  let unit: Record<string, string>
  let installOutput: string

  const page = (p = '/') => fetchVhost(nginx!.sitesPort, domain, p)
  const rows = async (sql: string) => (await db!.query(sql))[0] as Record<string, unknown>[]
  /** Starts an action, waits for its operation, and returns it with its log. */
  async function act(method: string, route: string, body?: unknown) {
    const res = await c!.api(method, route, body)
    expect([200, 202], `${route}: ${JSON.stringify(res.json)}`).toContain(res.status)
    // Actions answer with the operation; expire_date and delete with the client, naming it in meta.operation.
    const id = res.json.data.meta?.operation?.id ?? res.json.meta?.operation?.id ?? res.json.data.id
    const op = await c!.waitOperation(id, 120_000)
    const log = (await c!.api('GET', `/operations/${id}`)).json.data.attributes.log as { message: string }[]
    const text = log.map((l) => l.message).join('\n')
    expect(op.attributes.status, text).toBe('succeeded')
    return text
  }

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the production-parity test installs the agent: run it as root')
    dir = await makeTempDir('parity')
    source = await readableSource()
    // MariaDB as Debian runs it (its own user), with the setting install.sh's drop-in gives it (UMASK_DIR=0770).
    ;[images, mariadb] = await Promise.all([
      ensureFixtureImages(docker),
      startMariadb({ asMysql: true, env: { UMASK_DIR: '0770' } }),
    ])
    installOutput = await runInstall(source.dir, '80')
    nginx = await startSystemNginx()
    // What an operator puts in /etc/alfa-agent/agent.env: the DB admin account, and this host's docker gateway.
    await setAgentEnv({
      ALFA_AGENT_DB_MARIADB_URL: `mysql://${mariadb.adminUser}:${encodeURIComponent(mariadb.adminPassword)}@127.0.0.1:${mariadb.port}`,
      ALFA_AGENT_DB_HOST_FOR_CONTAINERS: await bridgeGateway(docker),
      ALFA_AGENT_CONTAINER_MEMORY_MB: '256',
      ALFA_LOG_LEVEL: 'info',
    })
    unit = await unitEnvironment()
    const profiles = path.join(dir, 'profiles.json')
    await fs.writeFile(profiles, JSON.stringify({ images: { 'alfa-test/app': FIXTURE_PROFILE } }))
    c = await startCluster({ masterEnv: { ALFA_APP_PROFILES: profiles, ALFA_EXPIRY_CHECK_INTERVAL_MS: '1000' } })
    const server = await c.createServer('parity')
    serverId = server.id
    await resetAgentState()
    await enrollAsAgent(c.url, server.token, unit)
    agent = runAsAgent(unit, path.join(dir, 'agent.log'))
    await c.waitOnline(server.id, true, 60_000).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await agent!.logTail()}`)
    })
  }, 600_000)

  afterAll(async () => {
    await db?.end()
    await agent?.stop({ timeoutMs: 10_000 })
    await c?.stop()
    if (serverId) await removeContainersByLabel(`alfa.server=${serverId}`, docker)
    await fs.rm(`/etc/nginx/alfa.d/alfa-${slug}.conf`, { force: true })
    // The client's snapshots and final dumps, written where install.sh puts backups: each run left its own there.
    const backups = '/var/backups/alfa'
    for (const file of await fs.readdir(backups).catch(() => [] as string[]))
      if (file.startsWith(`${slug}-`)) await fs.rm(path.join(backups, file), { force: true })
    await nginx?.stop()
    await mariadb?.stop()
    if (source?.copied) await fs.rm(source.dir, { recursive: true, force: true })
    if (dir) await fs.rm(dir, { recursive: true, force: true })
  }, 120_000)

  it('lays the server out as install.sh says: private state, nginx-readable pages, workers as www-data', async () => {
    expect(installOutput).toContain('The agent is installed')
    const state = await fs.stat(STATE_DIR)
    expect(state.mode & 0o777).toBe(0o700)
    const pages = await fs.stat(unit.ALFA_AGENT_PAGES_DIR!)
    expect(pages.mode & 0o777).toBe(0o755)
    expect(unit.ALFA_AGENT_PAGES_DIR!.startsWith(`${STATE_DIR}/`)).toBe(false)
    expect(unit.ALFA_AGENT_NGINX_ARGV_PREFIX).toBe('["sudo","-n","/usr/sbin/nginx"]')
    // The agent's user sees nginx's master and its workers in /proc: its reloads are proven done (nginx-workers.ts)
    // rather than waited out.
    expect(unit.ALFA_AGENT_NGINX_PID_FILE).toBe('/run/nginx.pid')
    const asAgentUser = async (...argv: string[]) =>
      (await runCommand('runuser', ['-u', AGENT_USER, '--', ...argv])).stdout
    const masterPid = (await asAgentUser('cat', '/run/nginx.pid')).trim()
    const children = (await asAgentUser('cat', `/proc/${masterPid}/task/${masterPid}/children`)).trim().split(/\s+/)
    const titles = await Promise.all(children.map((pid) => asAgentUser('cat', `/proc/${pid}/cmdline`)))
    expect(titles.filter((t) => isServingWorker(processTitle(t))).length).toBeGreaterThan(0)
    expect(new Set(await nginx!.workerUsers())).toEqual(new Set(['www-data']))
    const status = await fs.readFile(`/proc/${agent!.child.pid}/status`, 'utf8')
    const { stdout: uid } = await runCommand('id', ['-u', AGENT_USER])
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uid.trim()}\\s`, 'm'))
  })

  it('creates a client that answers through nginx with its Host header', async () => {
    const res = await c!.api('POST', '/clients', {
      data: {
        type: 'clients',
        attributes: {
          name: 'Parity Lab',
          slug,
          server: serverId,
          image: images.good1,
          ownerLogin: 'owner',
          ownerEmail: 'owner@lab.example.com',
          ownerPassword: 'First-Parity-Secret-1',
          expireDate: '2031-01-01',
        },
      },
    })
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    clientId = res.json.data.id
    domain = res.json.data.attributes.domain
    let attrs: { completed: string | null; error: unknown; log: { message: string }[] } | undefined
    await waitUntil(
      async () =>
        (attrs = (await c!.api('GET', `/clients/${clientId}/create_log`)).json.data.attributes).completed !== null,
      { timeoutMs: 180_000, what: 'the create', describe: () => agent!.logTail() },
    )
    expect(attrs!.completed, JSON.stringify(attrs)).toBe('ok')
    expect(attrs!.log.map((l) => l.message).join('\n')).toMatch(/\/health through nginx: 200 from the app/)
    const health = await page('/health')
    expect(health.status).toBe(200)
    expect(JSON.parse((await page('/api/settings')).body)).toMatchObject({ appVersion: '1.0.0', usersCount: 1 })
    db = await mysql.createConnection({
      host: '127.0.0.1',
      port: mariadb!.port,
      user: mariadb!.adminUser,
      password: mariadb!.adminPassword,
      database: dbNameForSlug(slug),
    })
  })

  it("the agent's user reaches the client's InnoDB files, as a move that carries them needs (install.sh)", async () => {
    expect((await runCommand('id', ['-nG', AGENT_USER])).stdout.split(/\s+/)).toContain('mysql')
    const dropIn = await fs.readFile('/etc/systemd/system/mariadb.service.d/alfa-agent.conf', 'utf8')
    expect(dropIn).toMatch(/^Environment=UMASK_DIR=0770$/m)
    const file = path.join(mariadb!.dataDir, dbNameForSlug(slug), 'cloud_settings.ibd')
    await runCommand('runuser', ['-u', AGENT_USER, '--', 'test', '-r', file])
    await runCommand('runuser', ['-u', AGENT_USER, '--', 'test', '-w', path.dirname(file)])
  })

  it('maintenance: 503 through nginx the moment the operation succeeds; off: 200', async () => {
    const on = await act('GET', `/clients/${clientId}/maintain_enable`)
    expect(on).toContain("answers 503 from nginx's maintenance page")
    const shown = await page('/')
    expect(shown.status).toBe(503)
    expect(shown.body).toContain('Maintenance')
    expect(await fs.stat(path.join(unit.ALFA_AGENT_PAGES_DIR!, `${slug}.maintenance`))).toBeTruthy()
    await act('GET', `/clients/${clientId}/maintain_disable`)
    expect((await page('/health')).status).toBe(200)
  })

  it("a stopped app: nginx's own page for it, readable by www-data (502, not the bare error); started: 200", async () => {
    const container = docker.getContainer(mainContainer(slug))
    await container.stop({ t: 2 })
    try {
      const shown = await page('/')
      expect(shown.status).toBe(502)
      expect(shown.body).toContain('Temporarily unavailable')
      expect(await fs.stat(path.join(unit.ALFA_AGENT_PAGES_DIR!, 'unavailable.html'))).toBeTruthy()
    } finally {
      await container.start()
    }
    await waitUntil(async () => (await page('/health')).status === 200, { timeoutMs: 30_000, what: 'the app back' })
  })

  it('an expire date in the past: 403 through nginx when its operation succeeds; a future date: 200', async () => {
    const past = await act('POST', `/clients/${clientId}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2020-01-01', reason: 'unpaid' } },
    })
    expect(past).toContain("answers 403 from nginx's expired page")
    const blocked = await page('/')
    expect(blocked.status).toBe(403)
    expect(blocked.body).toContain('Subscription expired')
    await act('POST', `/clients/${clientId}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2032-06-30', reason: 'paid' } },
    })
    expect((await page('/health')).status).toBe(200)
    expect(JSON.parse((await page('/api/settings')).body).settings.expire_date).toBe('2032-06-30')
  })

  it('demo on and off, and the owner password, change the client database', async () => {
    const before = await rows('SELECT * FROM demo_rows ORDER BY id')
    await act('GET', `/clients/${clientId}/demo_enable`)
    expect(await rows("SELECT * FROM demo_rows WHERE demo_batch = 'demo'")).toHaveLength(5)
    await act('GET', `/clients/${clientId}/demo_disable`)
    expect(await rows('SELECT * FROM demo_rows ORDER BY id')).toEqual(before)
    await act('POST', `/clients/${clientId}/owner_password`, {
      data: { type: 'owner-passwords', attributes: { password: NEW_PASSWORD } },
    })
    const owner = (await rows("SELECT password_hash FROM users WHERE login = 'owner'"))[0]!
    expect(await verifyPassword(NEW_PASSWORD, String(owner.password_hash))).toBe(true)
  })

  it('switches to another image: the new version answers through nginx', async () => {
    await act('GET', `/clients/${clientId}/switch/${encodeURIComponent(images.good2)}`)
    expect(JSON.parse((await page('/api/settings')).body).appVersion).toBe('2.0.0')
  })

  it('deletes the client: the domain no longer reaches it, the dump is kept in the backup dir', async () => {
    const log = await act('DELETE', `/clients/${clientId}`)
    expect(log).toContain(`no longer reaches ${slug}`)
    // Debian's default site answers names it does not know: no /health there.
    expect((await page('/health')).status).toBe(404)
    await expect(docker.getContainer(`alfa-${slug}`).inspect()).rejects.toThrow()
    expect(await rows(`SHOW DATABASES LIKE '${dbNameForSlug(slug)}'`)).toEqual([])
    const dumps = (await fs.readdir(unit.ALFA_AGENT_BACKUP_DIR!)).filter((f) => f.startsWith(`${slug}-`))
    expect(dumps.length).toBeGreaterThan(0)
  })
})
