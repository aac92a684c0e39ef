// No built-in default password: a master started without ALFA_ADMIN_PASSWORD generates one, prints it once on the
// terminal only, and no fixed credential opens the API; failed logins are logged without the password tried.
// Real master processes (packages/master/src/main.ts) on fresh PostgreSQL databases, as ./scripts/start runs them.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, inject } from 'vitest'
import { masterArgs } from '../../packages/master/src/node-flags.ts'
import { REPO_ROOT } from '../support/cluster.ts'
import { basic } from '../support/master-app.ts'
import { freePort, waitForPort } from '../support/ports.ts'
import { createTestDatabase } from '../support/postgres.ts'
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from '../support/process.ts'
import { securityCase } from './report.ts'

/** Passwords a built-in default would plausibly be; fewer than the login throttle's budget (10) per address. */
const GUESSES = ['admin', 'password', 'changeme', 'alfa', 'alfa-cloud', 'admin123']
const WRONG = 'Wrong-Secret-Guess-77'

const masters: ServiceProcess[] = []

/** Starts a master without any admin credential configured; resolves with its URL, log file and printed password. */
async function startUnconfigured() {
  const dir = await makeTempDir('alfa-bootstrap')
  const port = await freePort()
  const logPath = path.join(dir, 'master.log')
  const env = { ...process.env }
  delete env.ALFA_ADMIN_USER
  delete env.ALFA_ADMIN_PASSWORD
  const master = spawnService('master', process.execPath, masterArgs(), {
    logPath,
    cwd: REPO_ROOT,
    env: {
      ...env,
      ALFA_PORT: String(port),
      ALFA_HOST: '127.0.0.1',
      ALFA_DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: await createTestDatabase(inject('postgresAdminUrl')),
      // The most talkative level the master has: not even debug lines may carry a password.
      ALFA_LOG_LEVEL: 'trace',
    },
  })
  masters.push(master)
  await waitForPort('127.0.0.1', port, {
    timeoutMs: 60_000,
    describe: () => master.logTail(),
    check: () => master.assertRunning(),
  })
  const shown = /admin credential \(shown once\): (\S+) \/ (\S+)/
  await waitUntil(async () => shown.test(await readFile(logPath, 'utf8')), {
    timeoutMs: 10_000,
    what: 'the generated credential on the terminal',
  })
  const [, user, password] = shown.exec(await readFile(logPath, 'utf8'))!
  return { url: `http://127.0.0.1:${port}`, logPath, user: user!, password: password! }
}

const status = async (url: string, user: string, password: string) =>
  (await fetch(`${url}/servers`, { headers: { Authorization: basic(user, password) } })).status

describe('admin credential bootstrap', () => {
  afterAll(async () => {
    await Promise.all(masters.map((m) => m.stop({ timeoutMs: 10_000 })))
  })

  securityCase(
    'no built-in default password: an unconfigured master generates one per install; no fixed one works',
    async () => {
      const first = await startUnconfigured()
      expect(first.user).toBe('admin')
      // At least 128 random bits (base64url).
      expect(first.password).toMatch(/^[A-Za-z0-9_-]{22,}$/)
      for (const guess of [...GUESSES, first.user]) expect(await status(first.url, first.user, guess)).toBe(401)
      expect(await status(first.url, first.user, first.password)).toBe(200)
      // Another install generates another password: nothing is built in.
      const second = await startUnconfigured()
      expect(second.password).not.toBe(first.password)
      expect(await status(second.url, second.user, first.password)).toBe(401)
      expect(await status(second.url, second.user, second.password)).toBe(200)
      // The generated password is printed once on the terminal line, never in a JSON log line.
      const jsonLines = (await readFile(first.logPath, 'utf8')).split('\n').filter((l) => l.startsWith('{'))
      expect(jsonLines.length).toBeGreaterThan(0)
      for (const line of jsonLines) expect(line).not.toContain(first.password)
    },
    180_000,
  )

  securityCase('the process log after failed logins holds no password (tried or real)', async () => {
    const m = await startUnconfigured()
    expect(await status(m.url, m.user, WRONG)).toBe(401)
    expect(await status(m.url, 'nobody', WRONG)).toBe(401)
    expect(await status(m.url, m.user, m.password)).toBe(200)
    // The failure is logged (who, from where) once it happened; the password never is.
    await waitUntil(async () => (await readFile(m.logPath, 'utf8')).includes('login failed'), {
      timeoutMs: 10_000,
      what: 'the failed login in the log',
    })
    const log = await readFile(m.logPath, 'utf8')
    const jsonLines = log.split('\n').filter((l) => l.startsWith('{'))
    const failed = jsonLines.filter((l) => l.includes('login failed'))
    expect(failed.length).toBe(2)
    expect(failed.some((l) => l.includes('"user":"nobody"'))).toBe(true)
    for (const secret of [WRONG, m.password, Buffer.from(`${m.user}:${WRONG}`).toString('base64')])
      expect(jsonLines.join('\n')).not.toContain(secret)
  })
})
