// A real master in this process (HTTP and the agents' WebSocket endpoint on a free port, a fresh PostgreSQL
// database) with short hub timings, for tests that drive it through fake agents instead of processes.
import { createLogger, startMaster, systemClock } from '@alfa/master'
import { inject } from 'vitest'
import { connectFakeAgent, type FakeScript } from './fake-agent.ts'
import { checkJsonApiResponse } from './jsonapi-validator.ts'
import { basic, FAST_HASH } from './master-app.ts'
import { makeTempDir, waitUntil } from './process.ts'
import { createTestDatabase } from './postgres.ts'

const ADMIN = { user: 'admin', password: 'Live-Master-Pass-42' }

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any

/** A client's create document with only what the API requires (the owner's fields), on `server`. */
export function clientDoc(slug: string, server: string, image = 'alfa/mol:1.0-master') {
  return {
    data: {
      type: 'clients',
      attributes: {
        name: `Lab ${slug}`,
        slug,
        server,
        image,
        ownerLogin: 'owner',
        ownerEmail: 'owner@example.com',
        ownerPassword: 'Strong-Secret-2026!x',
      },
    },
  }
}

export async function startLiveMaster(
  opts: { graceMs?: number; testOperations?: boolean; imagesWaitMs?: number } = {},
) {
  const databaseUrl = await createTestDatabase(inject('postgresAdminUrl'))
  const master = await startMaster({
    config: {
      port: 0,
      host: '127.0.0.1',
      dataDir: await makeTempDir('alfa-live-master'),
      databaseUrl,
      adminUser: ADMIN.user,
      adminPassword: ADMIN.password,
      maxBodyBytes: 256 * 1024,
    },
    logger: createLogger({ level: process.env.ALFA_TEST_LOG_LEVEL ?? 'silent' }),
    clock: systemClock,
    services: {
      hashParams: FAST_HASH,
      hub: { heartbeatMs: 2_000, graceMs: opts.graceMs ?? 1_500, deadlineSlackMs: 1_000 },
      clientMonitor: { intervalMs: 3_600_000 },
      ...(opts.imagesWaitMs ? { imagesWaitMs: opts.imagesWaitMs } : {}),
    },
    app: { testOperations: opts.testOperations ?? true },
  })

  /** An authenticated JSON:API request; every JSON:API answer is checked against the spec's rules. */
  async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const res = await fetch(master.url + route, {
      method,
      headers: {
        Authorization: basic(ADMIN.user, ADMIN.password),
        ...(body !== undefined ? { 'Content-Type': 'application/vnd.api+json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    const json = text ? JSON.parse(text) : undefined
    checkJsonApiResponse(`${method} ${route}`, res.headers.get('content-type'), json)
    return { status: res.status, json }
  }

  /** Creates a server, enrolls it and connects a fake agent for it. */
  async function addAgent(name: string, script?: FakeScript, hello: { capabilities?: string[] } = {}) {
    const created = await api('POST', '/servers', {
      data: { type: 'servers', attributes: { name, host: '127.0.0.1', baseDomain: `${name}.test.localhost` } },
    })
    if (created.status !== 201) throw new Error(`create server: ${created.status} ${JSON.stringify(created.json)}`)
    const res = await fetch(master.url + '/agent/enroll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: created.json.meta.enrollment.token, hostname: name, agentVersion: '0.1.0' }),
    })
    const enrolled = (await res.json()) as { serverId: string; credential: string }
    const connect = (more: { script?: FakeScript; inFlight?: string[] } = {}) =>
      connectFakeAgent({
        url: master.url,
        credential: enrolled.credential,
        serverId: enrolled.serverId,
        script,
        ...hello,
        ...more,
      })
    return { serverId: enrolled.serverId, credential: enrolled.credential, agent: await connect(), connect }
  }

  /** Creates a client on `serverId` (its fake agent answers the create) and waits until it is active; its id. */
  async function activeClient(slug: string, serverId: string): Promise<string> {
    const res = await api('POST', '/clients', clientDoc(slug, serverId))
    if (res.status !== 202) throw new Error(`create ${slug}: ${res.status} ${JSON.stringify(res.json)}`)
    const id: string = res.json.data.id
    await waitUntil(async () => (await api('GET', `/clients/${id}`)).json.data.attributes.status === 'active', {
      timeoutMs: 10_000,
      what: `${slug} to be active`,
    })
    return id
  }

  /** The admin's Authorization header, for requests `api` does not make (streams). */
  const authorization = basic(ADMIN.user, ADMIN.password)
  return { master, api, addAgent, activeClient, authorization, stop: () => master.stop() }
}

export type LiveMaster = Awaited<ReturnType<typeof startLiveMaster>>
