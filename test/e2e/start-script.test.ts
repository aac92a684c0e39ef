import path from 'node:path'
import { chmod, readFile, rm } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../support/cluster.ts'
import { basic } from '../support/master-app.ts'
import { freePort } from '../support/ports.ts'
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from '../support/process.ts'
import { pidsWithEnv } from '../support/proc-env.ts'

const PASSWORD = 'Start-Script-Pass-9'

/** The README's first command, as a user runs it: ./scripts/start, on the embedded database. */
describe('./scripts/start', () => {
  let proc: ServiceProcess | undefined
  let dir: string | undefined
  afterAll(async () => {
    await proc?.stop({ timeoutMs: 40_000 })
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('starts the master with an online local agent; a server created with POST survives a restart', async () => {
    dir = await makeTempDir('alfa-start')
    // nginx's workers (www-data) must reach the local server's pages under the data dir; mkdtemp makes it 0700.
    await chmod(dir, 0o755)
    const port = await freePort()
    const env = {
      ...process.env,
      ALFA_PORT: String(port),
      // Ports of our own: a developer's ./scripts/start may hold the defaults (8880, 3307).
      ALFA_SITES_PORT: String(await freePort('0.0.0.0')),
      ALFA_MARIADB_PORT: String(await freePort('0.0.0.0')),
      ALFA_DATA_DIR: path.join(dir!, 'data'),
      ALFA_ADMIN_USER: 'admin',
      ALFA_ADMIN_PASSWORD: PASSWORD,
      ALFA_LOG_LEVEL: 'info',
    }
    const url = `http://127.0.0.1:${port}`
    const get = async (route: string) => {
      const res = await fetch(url + route, { headers: { Authorization: basic('admin', PASSWORD) } }).catch(
        () => undefined,
      )
      return res?.ok
        ? ((await res.json()) as { data: { id: string; attributes: { name: string; online: boolean } }[] })
        : undefined
    }
    const start = (n: number) => {
      proc = spawnService('scripts/start', path.join(REPO_ROOT, 'scripts/start'), [], {
        logPath: path.join(dir!, `start-${n}.log`),
        cwd: REPO_ROOT,
        env,
      })
    }

    start(1)
    await waitUntil(
      async () =>
        (await get('/servers'))?.data.some((s) => s.attributes.name === 'local' && s.attributes.online) ?? false,
      { timeoutMs: 150_000, what: 'the local server online', describe: () => proc!.logTail() },
    )
    const created = await fetch(url + '/servers', {
      method: 'POST',
      headers: { Authorization: basic('admin', PASSWORD), 'Content-Type': 'application/vnd.api+json' },
      body: JSON.stringify({
        data: {
          type: 'servers',
          attributes: { name: 'survivor', host: '10.0.0.7', baseDomain: 'survivor.example.com' },
        },
      }),
    })
    expect(created.status).toBe(201)
    await proc!.stop({ timeoutMs: 40_000 })
    expect(await fetch(url + '/health').catch(() => 'down')).toBe('down')

    start(2)
    await waitUntil(
      async () =>
        (await get('/servers'))?.data.some((s) => s.attributes.name === 'local' && s.attributes.online) ?? false,
      { timeoutMs: 150_000, what: 'the local server online again', describe: () => proc!.logTail() },
    )
    const names = (await get('/servers?filter[active]=all'))!.data.map((s) => s.attributes.name).sort()
    expect(names).toEqual(['local', 'survivor'])
    // The local agent kept its credential: no second enrollment on the second start.
    expect(await readFile(path.join(dir!, 'start-2.log'), 'utf8')).not.toMatch(/enrolling the local agent/)

    // A part that dies takes the others down, and the script says which part it was and how it ended.
    const stateDir = path.join(dir!, 'data', 'agent')
    const agents = await pidsWithEnv('ALFA_AGENT_STATE_DIR', (v) => v === stateDir)
    const agent = (
      await Promise.all(
        agents.map(async (pid) =>
          (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes('run') ? pid : 0,
        ),
      )
    ).find((pid) => pid > 0)
    expect(agent, `the local agent among ${agents.join(', ')}`).toBeDefined()
    process.kill(agent!, 'SIGKILL')
    await waitUntil(async () => proc!.child.exitCode !== null, { timeoutMs: 60_000, what: 'scripts/start to stop' })
    expect(proc!.child.exitCode).toBe(137)
    expect(await readFile(path.join(dir!, 'start-2.log'), 'utf8')).toMatch(
      /the local agent stopped \(exit status 137\): stopping the others too/,
    )
    expect(await fetch(url + '/health').catch(() => 'down')).toBe('down')
  }, 420_000) // its own waits allow 150 s per start; the default 120 s would cut them short on a loaded machine
})
