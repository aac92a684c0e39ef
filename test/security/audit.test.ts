// The audit log: every change made through the API is recorded (who, from where, what, result), never a secret.
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { ADMIN_PASSWORD, ADMIN_USER, basic, createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'
import { securityCase } from './report.ts'

const NEW_ADMIN_PASSWORD = 'Audit-Rotated-Pass-2026!'
const OWNER_PASSWORD = 'Lab-Secret-Pass-2026!'
const WRONG_PASSWORD = 'Wrong-Guess-Pass-2026!'

describe('audit log', () => {
  let t: TestApp
  let address = '10.9.0.1'
  beforeAll(async () => {
    t = await createTestApp({ app: { clientAddress: () => address } })
  })
  afterAll(async () => {
    await t?.close()
  })

  securityCase('a password change, a client create and a failed login are audited, without any secret', async () => {
    const server = await t.api('POST', '/servers', serverDoc({ name: 'audit-srv' }))
    expect(server.status).toBe(201)
    const serverId: string = server.json.data.id
    // A client create (the server has no agent, so it is refused 503: an attempted change is recorded too).
    address = '10.9.0.2'
    const client = await t.api('POST', '/clients', {
      data: {
        type: 'clients',
        attributes: {
          name: 'Audit Lab',
          slug: 'audit-lab',
          image: 'alfa/mol:1.0.0',
          server: serverId,
          ownerLogin: 'owner',
          ownerEmail: 'owner@example.com',
          ownerPassword: OWNER_PASSWORD,
        },
      },
    })
    expect(client.status, JSON.stringify(client.json)).toBe(503)
    // A failed login from another address.
    address = '10.9.0.3'
    const failed = await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, WRONG_PASSWORD) } })
    expect(failed.status).toBe(401)
    // The password change.
    address = '10.9.0.4'
    const rotated = await t.api('POST', '/cloud_admin_password', {
      data: { type: 'admin-credentials', attributes: { password: NEW_ADMIN_PASSWORD } },
    })
    expect(rotated.status).toBe(200)
    t.useAuth(ADMIN_USER, NEW_ADMIN_PASSWORD)
    // Reads are not changes.
    expect((await t.api('GET', '/servers')).status).toBe(200)

    const list = await t.api('GET', '/audit?sort=at')
    expect(list.status).toBe(200)
    const entries = list.json.data.map((d: { attributes: Record<string, unknown> }) => d.attributes)
    expect(entries).toEqual([
      expect.objectContaining({
        method: 'POST',
        route: '/servers',
        actor: ADMIN_USER,
        status: 201,
        targetId: serverId,
      }),
      expect.objectContaining({
        method: 'POST',
        route: '/clients',
        actor: ADMIN_USER,
        status: 503,
        address: '10.9.0.2',
      }),
      expect.objectContaining({
        method: 'GET',
        route: '/servers',
        actor: ADMIN_USER,
        status: 401,
        address: '10.9.0.3',
      }),
      expect.objectContaining({ method: 'POST', route: '/cloud_admin_password', actor: ADMIN_USER, status: 200 }),
    ])
    for (const e of entries) expect(Date.parse(e.at)).toBeGreaterThan(Date.now() - 60_000)
    // No secret anywhere: not in the answer, not in the table.
    const rows = JSON.stringify(await t.db.prisma.auditEntry.findMany(), (_k, v) =>
      typeof v === 'bigint' ? String(v) : v,
    )
    for (const secret of [NEW_ADMIN_PASSWORD, OWNER_PASSWORD, WRONG_PASSWORD, ADMIN_PASSWORD]) {
      expect(rows).not.toContain(secret)
      expect(JSON.stringify(list.json)).not.toContain(secret)
    }
  })

  securityCase('anonymous reads (GET /health, unknown paths) write no audit row', async () => {
    const before = await t.db.prisma.auditEntry.count()
    // Registered before the authentication middleware: the last route it matches is a middleware's `/*`, and once
    // that was taken for its route every probe of a load balancer (or a stranger) wrote a row.
    for (let i = 0; i < 5; i++) expect((await t.app.request('/health')).status).toBe(200)
    expect((await t.app.request('/no-such-page')).status).toBe(401)
    expect(await t.db.prisma.auditEntry.count()).toBe(before)
  })

  securityCase('GET /audit filters by actor, target and time, and pages', async () => {
    const server = await t.api('POST', '/servers', serverDoc({ name: 'audit-srv-2' }))
    const id: string = server.json.data.id
    const byTarget = await t.api('GET', `/audit?filter[target]=${id}`)
    expect(byTarget.json.data).toHaveLength(1)
    expect(byTarget.json.data[0].attributes.targetId).toBe(id)
    expect((await t.api('GET', '/audit?filter[actor]=nobody')).json.data).toHaveLength(0)
    const future = new Date(Date.now() + 3_600_000).toISOString()
    expect((await t.api('GET', `/audit?filter[from]=${encodeURIComponent(future)}`)).json.data).toHaveLength(0)
    const page = await t.api('GET', '/audit?page[size]=2&page[number]=1')
    expect(page.json.data).toHaveLength(2)
    expect(page.json.meta.total).toBeGreaterThanOrEqual(5)
    expect(page.json.links.next).toBeTruthy()
    expect((await t.api('GET', '/audit?filter[from]=yesterday')).status).toBe(400)
  })
})
