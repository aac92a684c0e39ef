import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import {
  createApp,
  createLogger,
  createServices,
  systemClock,
  type AppOptions,
  type BuildConfig,
  type Clock,
} from '@alfa/master'
import { backends, type Backend } from './backends.ts'
import { createDatabaseFixture } from './database-fixture.ts'
import { checkJsonApiResponse } from './jsonapi-validator.ts'
import { makeTempDir } from './process.ts'

export const ADMIN_USER = 'admin'
export const ADMIN_PASSWORD = 'Test-Admin-Pass-42'
/** Cheap scrypt for tests; the OWASP default is proven in password-hash.test.ts. */
export const FAST_HASH = { N: 2 ** 10, r: 8, p: 1 }

export function basic(user: string, password: string) {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
}

/**
 * An in-process master app on a fresh database (embedded PGlite in a temp dir, or the given PostgreSQL URL), with
 * the admin credential set. `api()` sends authenticated JSON:API requests through `app.request`.
 */
export async function createTestApp(
  opts: { backend?: Backend; app?: AppOptions; clock?: Clock; builds?: BuildConfig } = {},
) {
  const logger = createLogger({ level: process.env.ALFA_TEST_LOG_LEVEL ?? 'silent' })
  // PostgreSQL by default: a fresh database there takes milliseconds, a PGlite cluster seconds. Suites that must
  // hold on both pass `backend` from backends().
  const fixture = await createDatabaseFixture(opts.backend ?? backends().find((b) => b.name === 'postgres')!)
  const db = await fixture.open()
  const dataDir = await makeTempDir('test-app')
  const services = createServices({
    prisma: db.prisma,
    sql: db.sql,
    notifications: db.notifications,
    dataDir,
    logger,
    clock: opts.clock ?? systemClock,
    hashParams: FAST_HASH,
    secretKey: randomBytes(32),
    ...(opts.builds ? { builds: opts.builds } : {}),
  })
  const app = createApp(services, opts.app)
  const credentials = services.adminCredentials
  await credentials.bootstrap({ user: ADMIN_USER, password: ADMIN_PASSWORD })
  let auth = basic(ADMIN_USER, ADMIN_PASSWORD)

  async function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await app.request(url, {
      method,
      headers: {
        Authorization: auth,
        ...(body !== undefined ? { 'Content-Type': 'application/vnd.api+json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test documents are inspected loosely
    const json: any = text ? JSON.parse(text) : undefined
    // Every JSON:API answer any test reads is held to the spec's rules.
    checkJsonApiResponse(`${method} ${url}`, res.headers.get('content-type'), json)
    return { status: res.status, headers: res.headers, json }
  }

  return {
    app,
    db,
    api,
    credentials,
    useAuth(user: string, password: string) {
      auth = basic(user, password)
    },
    services,
    async close() {
      await services.stop()
      await db.close()
      await fixture.dispose()
      await fs.rm(dataDir, { recursive: true, force: true })
    },
  }
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>

/** A valid server create document, with the given attributes over the defaults. */
export function serverDoc(attrs: Record<string, unknown> = {}) {
  return {
    data: {
      type: 'servers',
      attributes: { name: 'srv-a', host: '10.0.0.5', baseDomain: 'cloud.example.com', ...attrs },
    },
  }
}
