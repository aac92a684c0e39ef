// Shared pieces of the mail tests: a real SMTP server that captures and parses letters (or misbehaves on demand),
// a controllable clock, a log sink, and an in-process master on a database that outlives it (for restarts).
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import net from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { createApp, createLogger, createServices, type Clock } from '@alfa/master'
import type { MailConfig } from '../../packages/master/src/mail/mail-services.ts'
import { backends } from '../support/backends.ts'
import { createDatabaseFixture, type DatabaseFixture } from '../support/database-fixture.ts'
import { makeTempDir } from '../support/process.ts'
import { ADMIN_PASSWORD, ADMIN_USER, basic, FAST_HASH } from '../support/master-app.ts'

/** How the test SMTP server treats the next connections. */
export type SmtpMode = 'accept' | 'busy-421' | 'reject-550' | 'drop'

export interface TestSmtp {
  url: string
  letters: ParsedMail[]
  /** Connections the server saw, accepted or not: the master's attempts. */
  connections: number
  mode: SmtpMode
  /** When set, the mode holds for this many more connections, then the server accepts again. */
  failTimes?: number | undefined
  close(): Promise<void>
}

const smtpError = (message: string, responseCode: number) => Object.assign(new Error(message), { responseCode })

/**
 * An SMTP server on 127.0.0.1 (no TLS, any or no login). In `drop` mode a raw TCP listener on the same port's
 * stand-in closes every connection at once, as a crashing relay would.
 */
export async function startSmtp(): Promise<TestSmtp> {
  const state: TestSmtp = { url: '', letters: [], connections: 0, mode: 'accept', close: async () => {} }
  // Counts a connection and says whether it is to be failed in the current mode.
  const failing = (mode: SmtpMode) => {
    if (state.mode !== mode) return false
    if (state.failTimes !== undefined && --state.failTimes <= 0) {
      state.mode = 'accept'
      state.failTimes = undefined
    }
    return true
  }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(_auth, _session, cb) {
      cb(null, { user: 'test' })
    },
    onConnect(_session, cb) {
      state.connections++
      if (failing('busy-421')) return cb(smtpError('Too busy, try later', 421))
      cb()
    },
    onRcptTo(_address, _session, cb) {
      if (failing('reject-550')) return cb(smtpError('No such mailbox', 550))
      cb()
    },
    onData(stream, _session, cb) {
      simpleParser(stream).then((mail) => {
        state.letters.push(mail)
        cb()
      }, cb)
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const smtpPort = (server.server.address() as net.AddressInfo).port
  // The drop mode: a front that forwards to the SMTP server unless told to cut the line.
  const front = net.createServer((socket) => {
    if (state.mode === 'drop') {
      state.connections++
      failing('drop')
      socket.destroy()
      return
    }
    const upstream = net.connect(smtpPort, '127.0.0.1')
    socket.pipe(upstream).pipe(socket)
    const end = () => {
      socket.destroy()
      upstream.destroy()
    }
    socket.on('error', end)
    upstream.on('error', end)
    socket.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  state.url = `smtp://mailer:S3cret-Smtp@127.0.0.1:${(front.address() as net.AddressInfo).port}`
  state.close = async () => {
    await new Promise<void>((resolve) => front.close(() => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return state
}

/** A clock the test moves by hand. */
export function manualClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso)
  return {
    now: () => now,
    set(next) {
      now = new Date(next)
    },
  }
}

/** Every log line the master wrote, as text. */
export function logSink() {
  const lines: string[] = []
  return {
    lines,
    stream: {
      write(line: string) {
        lines.push(line)
      },
    },
  }
}

/** Fast retries for tests: the production policy waits seconds to a minute. */
export const TEST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 }

/** A database on the run's PostgreSQL that masters can be opened on, one after another or side by side. */
export async function sharedDatabase(): Promise<DatabaseFixture> {
  return createDatabaseFixture(backends().find((b) => b.name === 'postgres')!)
}

/**
 * An in-process master (services + app) on the given database, with mail configured. The secret key is passed in
 * so a "restarted" master can still open the passwords the previous one sealed.
 */
export async function openMaster(opts: {
  fixture: DatabaseFixture
  clock: Clock
  mail: MailConfig
  secretKey?: Buffer
  log?: ReturnType<typeof logSink>
}) {
  const logger = createLogger({
    level: opts.log ? 'trace' : (process.env.ALFA_TEST_LOG_LEVEL ?? 'silent'),
    ...(opts.log ? { destination: opts.log.stream } : {}),
  })
  const db = await opts.fixture.open()
  const secretKey = opts.secretKey ?? randomBytes(32)
  const dataDir = await makeTempDir('mail-master')
  const services = createServices({
    prisma: db.prisma,
    sql: db.sql,
    notifications: db.notifications,
    dataDir,
    logger,
    clock: opts.clock,
    hashParams: FAST_HASH,
    secretKey,
    mail: opts.mail,
  })
  await services.adminCredentials.bootstrap({ user: ADMIN_USER, password: ADMIN_PASSWORD })
  const app = createApp(services)
  async function api(method: string, url: string) {
    const res = await app.request(url, { method, headers: { Authorization: basic(ADMIN_USER, ADMIN_PASSWORD) } })
    const text = await res.text()
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test documents are inspected loosely
    const json: any = text ? JSON.parse(text) : undefined
    return { status: res.status, text, json }
  }
  return {
    services,
    app,
    api,
    secretKey,
    prisma: db.prisma,
    async close() {
      await services.stop()
      await db.close()
      await fs.rm(dataDir, { recursive: true, force: true })
    },
  }
}

export type TestMaster = Awaited<ReturnType<typeof openMaster>>

let seq = 0
/** A client row as client create would leave it, on a server of its own; the password sealed as at rest. */
export async function createClientRow(
  m: TestMaster,
  attrs: {
    language?: string
    expireDate?: string | null
    password?: string
    tls?: boolean
    contactEmail?: string | null
    status?: 'active' | 'failed'
  } = {},
) {
  const n = ++seq + Math.floor(Math.random() * 1e6)
  const server = await m.prisma.server.create({
    data: { name: `mail-srv-${n}`, host: '10.0.0.9', baseDomain: 'cloud.example.com', tlsEnabled: attrs.tls ?? true },
  })
  return m.prisma.client.create({
    data: {
      slug: `lab-${n}`,
      name: `Лаборатория №${n}`,
      domain: `lab-${n}.cloud.example.com`,
      serverId: server.id,
      status: attrs.status ?? 'active',
      ownerLogin: `owner${n}`,
      ownerEmail: `owner${n}@lab.example.com`,
      contactEmail: attrs.contactEmail ?? null,
      language: attrs.language ?? 'ru',
      ownerPasswordEnc: attrs.password === undefined ? null : m.services.secretBox.seal(attrs.password),
      expireDate: attrs.expireDate ? new Date(`${attrs.expireDate}T00:00:00Z`) : null,
    },
  })
}
