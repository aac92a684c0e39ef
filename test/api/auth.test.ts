import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, ADMIN_USER, basic, createTestApp, type TestApp } from '../support/master-app.ts'

/** Every route the app serves, found from its router so a new route cannot slip past this test unauthenticated. */
function allRoutes(t: TestApp) {
  return t.app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      method: r.method,
      path: r.path.replace(/:id/g, '00000000-0000-4000-8000-000000000000').replace(/:file/g, 'swagger-ui.css'),
    }))
}

describe('authentication', () => {
  let t: TestApp
  let address = '10.1.1.1'
  beforeAll(async () => {
    t = await createTestApp({
      app: { throttle: { maxFailures: 5, windowMs: 60_000, maxLockMs: 60_000 }, clientAddress: () => address },
    })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('requires Basic Auth on every route except GET /health', async () => {
    const routes = allRoutes(t)
    expect(routes.length).toBeGreaterThan(5)
    for (const r of routes) {
      const res = await t.app.request(r.path, { method: r.method })
      if (r.method === 'GET' && r.path === '/health') {
        expect(res.status).toBe(200)
        continue
      }
      if (r.method === 'POST' && r.path === '/agent/enroll') {
        // Authenticated by its one-time token instead (test/agents/enrollment.test.ts): without one it gives nothing.
        expect([401, 422]).toContain(res.status)
        continue
      }
      expect(res.status, `${r.method} ${r.path}`).toBe(401)
      expect(res.headers.get('www-authenticate')).toContain('Basic')
    }
  })

  it('refuses a wrong password and a malformed header', async () => {
    address = '10.1.1.2'
    for (const header of [
      basic(ADMIN_USER, 'wrong'),
      basic('nobody', ADMIN_PASSWORD),
      'Basic !!!',
      'Bearer x',
      basic('', ''),
    ]) {
      const res = await t.app.request('/servers', { headers: { Authorization: header } })
      expect(res.status, header).toBe(401)
    }
  })

  it('throttles failed logins per (user, address) with 429 and Retry-After, never locking the user elsewhere', async () => {
    address = '10.2.0.1'
    for (let i = 0; i < 5; i++)
      expect(
        (await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, 'guess' + i) } })).status,
      ).toBe(401)
    const res = await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, 'guess') } })
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('too_many_requests')
    // The same account from another address is not locked out.
    address = '10.2.1.1'
    expect(
      (await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, ADMIN_PASSWORD) } })).status,
    ).toBe(200)
  })

  it('throttles per address across user names', async () => {
    address = '10.3.3.3'
    for (let i = 0; i < 5; i++) await t.app.request('/servers', { headers: { Authorization: basic(`user${i}`, 'x') } })
    // A further guess from that address, whatever the login, is refused before it is checked.
    const res = await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, 'another-guess') } })
    expect(res.status).toBe(429)
    address = '10.3.3.4'
    expect(
      (await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, 'another-guess') } })).status,
    ).toBe(401)
  })

  it('rotates the admin password: the old one stops at once, weak ones are refused', async () => {
    address = '10.4.4.4'
    const weak = await t.api('POST', '/cloud_admin_password', {
      data: { type: 'admin-credentials', attributes: { password: 'short' } },
    })
    expect(weak.status).toBe(422)
    expect(weak.json.errors[0].source.pointer).toBe('/data/attributes/password')
    const newPassword = 'Rotated-Secret-2026!'
    const res = await t.api('POST', '/cloud_admin_password', {
      data: { type: 'admin-credentials', attributes: { password: newPassword } },
    })
    expect(res.status).toBe(200)
    expect(JSON.stringify(res.json)).not.toContain(newPassword)
    expect(
      (await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, ADMIN_PASSWORD) } })).status,
    ).toBe(401)
    expect(
      (await t.app.request('/servers', { headers: { Authorization: basic(ADMIN_USER, newPassword) } })).status,
    ).toBe(200)
    const stored = await t.db.prisma.adminCredential.findMany()
    expect(stored).toHaveLength(1)
    expect(stored[0]!.passwordHash).toMatch(/^scrypt\$/)
    expect(stored[0]!.passwordHash).not.toContain(newPassword)
    t.useAuth(ADMIN_USER, newPassword)
  })
})
