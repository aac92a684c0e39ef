import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, ADMIN_USER, basic, createTestApp, type TestApp } from '../support/master-app.ts'

describe('OpenAPI document and docs page', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('describes every route the app serves, with the validation schemas', async () => {
    const res = await t.api('GET', '/openapi.json')
    expect(res.status).toBe(200)
    expect(res.json.openapi).toBe('3.1.0')
    const documented = new Set<string>()
    for (const [p, ops] of Object.entries(res.json.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)
    }
    // Not part of the Mol admin's API: probes, the docs themselves, and the agents' enrollment call.
    const undocumented = ['/health', '/openapi.json', '/docs', '/docs/assets/:file', '/agent/enroll']
    for (const r of t.app.routes) {
      if (r.method === 'ALL' || undocumented.includes(r.path)) continue
      expect(documented, `${r.method} ${r.path}`).toContain(`${r.method} ${r.path}`)
    }
    const write = res.json.components.schemas.ServerWrite
    expect(JSON.stringify(write)).toContain('baseDomain')
    expect(res.json.components.securitySchemes.basicAuth).toEqual({ type: 'http', scheme: 'basic' })
  })

  it('serves a docs page that loads its assets locally', async () => {
    const headers = { Authorization: basic(ADMIN_USER, ADMIN_PASSWORD) }
    const page = await t.app.request('/docs', { headers })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('/openapi.json')
    expect(html).not.toMatch(/https?:\/\//)
    const bundle = await t.app.request('/docs/assets/swagger-ui-bundle.js', { headers })
    expect(bundle.status).toBe(200)
    expect(bundle.headers.get('content-type')).toContain('javascript')
    expect((await t.app.request('/docs/assets/..%2Fpackage.json', { headers })).status).toBe(404)
  })
})
