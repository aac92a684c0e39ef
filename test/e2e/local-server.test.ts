import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { chmod, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../support/cluster.ts'
import { removeContainersByLabel } from '../support/docker.ts'
import { basic } from '../support/master-app.ts'
import { fetchVhost } from '../support/nginx.ts'
import { freePort } from '../support/ports.ts'
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from '../support/process.ts'

/** The README's opening command: its admin password is the one the curl calls use. */
const PASSWORD = 'choose-a-Strong-pass-1'
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any

/** The body of the README's create call (`curl … /clients -d '…'`), so the test runs exactly what a user copies. */
async function readmeCreateBody(): Promise<Json> {
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8')
  const body = /localhost:8080\/clients -d '([^']+)'/.exec(readme)?.[1]
  if (!body) throw new Error('README.md has no `curl … localhost:8080/clients -d` call')
  return JSON.parse(body) as Json
}

/**
 * The README's first minutes on a fresh data directory: ./scripts/start, the three curl calls of a first client, its
 * url through the local nginx (workers as www-data), maintenance, a restart of the script, expiry, delete.
 */
describe('./scripts/start hosts clients at once', () => {
  let proc: ServiceProcess | undefined
  let dir: string | undefined
  let serverId: string | undefined
  afterAll(async () => {
    await proc?.stop({ timeoutMs: 40_000 })
    if (serverId) await removeContainersByLabel(`alfa.server=${serverId}`)
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('creates a client from the README body; its url shows 1.0.0, then 503, a restart, 403 and gone', async () => {
    dir = await makeTempDir('alfa-local-server')
    // nginx's workers (www-data) must reach the pages under the data dir; mkdtemp makes it 0700.
    await chmod(dir, 0o755)
    const [port, sitesPort, mariadbPort] = [await freePort(), await freePort('0.0.0.0'), await freePort('0.0.0.0')]
    const env = {
      ...process.env,
      ALFA_PORT: String(port),
      ALFA_SITES_PORT: String(sitesPort),
      ALFA_MARIADB_PORT: String(mariadbPort),
      ALFA_DATA_DIR: path.join(dir, 'data'),
      ALFA_ADMIN_USER: 'admin',
      ALFA_ADMIN_PASSWORD: PASSWORD,
      ALFA_LOG_LEVEL: 'warn',
    }
    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${route}`, {
        method,
        headers: { Authorization: basic('admin', PASSWORD), 'Content-Type': 'application/vnd.api+json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: res.status, json: (await res.json().catch(() => null)) as Json }
    }
    const start = async (n: number) => {
      proc = spawnService('scripts/start', path.join(REPO_ROOT, 'scripts/start'), [], {
        logPath: path.join(dir!, `start-${n}.log`),
        cwd: REPO_ROOT,
        env,
      })
      await waitUntil(
        async () => {
          proc!.assertRunning()
          const servers = await api('GET', '/servers').catch(() => undefined)
          const local = (servers?.json?.data as Json[] | undefined)?.find((s) => s.attributes.name === 'local')
          serverId = local?.id
          return local?.attributes.online === true
        },
        { timeoutMs: 240_000, what: `the local server online (start ${n})`, describe: () => proc!.logTail() },
      )
    }
    const startedAt = Date.now()
    await start(1)

    // 1. The README's create, with a slug of our own (container names are shared by every test on this daemon).
    const body = await readmeCreateBody()
    const slug = `readme-${randomBytes(3).toString('hex')}`
    body.data.attributes.slug = slug
    expect(Object.keys(body.data.attributes)).not.toContain('image')
    const created = await api('POST', '/clients', body)
    expect(created.status, JSON.stringify(created.json)).toBe(202)
    const id: string = created.json.data.id
    expect(created.json.data.attributes.image).toBe('alfa/demo:1.0.0')
    const url = new URL(created.json.data.attributes.url as string)
    expect(url.href).toBe(`http://${slug}.alfa.localhost:${sitesPort}/`)

    // 2. Poll create_log until it completes.
    let createLog: Json = {}
    await waitUntil(
      async () => {
        createLog = (await api('GET', `/clients/${id}/create_log`)).json.data.attributes
        return createLog.completed !== null
      },
      { timeoutMs: 120_000, what: 'create_log to complete', describe: () => proc!.logTail() },
    )
    expect(createLog.completed, JSON.stringify(createLog.error)).toBe('ok')

    // 3. Open its url: through the local nginx with the url's Host, and with curl exactly as the README does.
    const site = (urlPath = '/') => fetchVhost(sitesPort, url.hostname, urlPath)
    const first = await site()
    const firstAnswerMs = Date.now() - startedAt
    expect(first.status).toBe(200)
    expect(first.body).toContain('<p id="version">version 1.0.0</p>')
    expect(first.body).toContain('<dd id="setting-version">1.0.0</dd>')
    const { stdout: curled } = await promisify(execFile)('curl', ['-sS', '--max-time', '10', url.href])
    expect(curled).toContain('version 1.0.0')
    expect((await api('GET', `/clients/${id}`)).json.data.attributes.version).toBe('1.0.0')
    console.log(`local-server: ./scripts/start to the first client answering at its url: ${firstAnswerMs} ms`)

    const waitOperation = async (opId: string, what: string) => {
      let status = ''
      await waitUntil(
        async () => {
          status = (await api('GET', `/operations/${opId}`)).json.data.attributes.status
          return ['succeeded', 'failed', 'interrupted'].includes(status)
        },
        { timeoutMs: 60_000, what: `${what} to end` },
      )
      expect(status, `${what} ended ${status}`).toBe('succeeded')
    }
    const act = async (action: string) => {
      const res = await api('POST', `/clients/${id}/${action}`)
      expect(res.status, JSON.stringify(res.json)).toBe(202)
      await waitOperation(res.json.data.id, action)
    }
    const expectStatus = (status: number, what: string) =>
      waitUntil(async () => (await site().catch(() => ({ status: 0 }))).status === status, {
        timeoutMs: 30_000,
        what,
      })

    // Maintenance: nginx (workers as www-data) serves its own page.
    await act('maintain_enable')
    expect((await site()).status).toBe(503)
    await act('maintain_disable')
    await expectStatus(200, 'the site back after maintenance')

    // A restart of the script: nginx and MariaDB come back with the same data, the client is served again.
    await proc!.stop({ timeoutMs: 40_000 })
    expect((await site().catch(() => ({ status: 0 }))).status).toBe(0)
    expect(await fetch(`http://127.0.0.1:${port}/health`).catch(() => 'down')).toBe('down')
    await start(2)
    await expectStatus(200, 'the client served after a restart')
    expect((await site('/api/settings')).body).toContain('"usersCount":1')

    // Expiry: a last day in the past blocks the site.
    const expired = await api('POST', `/clients/${id}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2020-01-01', reason: 'unpaid' } },
    })
    expect(expired.status, JSON.stringify(expired.json)).toBe(200)
    await expectStatus(403, 'the expiry page')
    const expiryOp: string | undefined = (expired.json.meta ?? expired.json.data.meta)?.operation?.id
    expect(expiryOp).toBeDefined()
    await waitOperation(expiryOp!, 'expire_date')

    // Delete: the site is gone (nginx's default server answers for an unknown name).
    const deleted = await api('DELETE', `/clients/${id}`)
    expect(deleted.status, JSON.stringify(deleted.json)).toBe(202)
    await expectStatus(404, 'the site gone after delete')
    await waitUntil(async () => (await api('GET', `/clients/${id}`)).json.data.attributes.status === 'deleted', {
      timeoutMs: 60_000,
      what: 'the client deleted',
    })
  }, 900_000) // two starts (240 s each at most), a create and five actions: the default 120 s cut it short at load 17
})
