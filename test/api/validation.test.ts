import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

const HOSTILE = [
  'a; rm -rf /',
  '$(id)',
  '`id`',
  '--upload-pack=x',
  '../../etc/x',
  'a\nb.example.com',
  'x'.repeat(300),
  'аlpha.example.com',
  '',
]

describe('request validation', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ app: { maxBodyBytes: 4096 } })
  })
  afterAll(async () => {
    await t?.close()
  })

  async function serverCount() {
    return t.db.prisma.server.count()
  }

  it.each(['name', 'host', 'baseDomain'])(
    'refuses hostile values in %s with 422 pointing at the field, writing nothing',
    async (field) => {
      const before = await serverCount()
      for (const value of HOSTILE) {
        const res = await t.api('POST', '/servers', serverDoc({ name: 'valid-name', [field]: value }))
        expect(res.status, `${field}=${JSON.stringify(value)}`).toBe(422)
        expect(res.json.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toContain(
          `/data/attributes/${field}`,
        )
      }
      expect(await serverCount()).toBe(before)
    },
  )

  it('refuses wrong types, unknown fields and read-only fields with pointers', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxClients: 'ten' }, '/data/attributes/maxClients'],
      [{ maxClients: -1 }, '/data/attributes/maxClients'],
      [{ active: 'yes' }, '/data/attributes/active'],
      [{ role: 'master' }, '/data/attributes/role'],
      [{ dbEngine: 'sqlite' }, '/data/attributes/dbEngine'],
      [{ online: true }, '/data/attributes/online'],
      [{ evil: 1 }, '/data/attributes/evil'],
    ]
    for (const [attrs, pointer] of cases) {
      const res = await t.api('POST', '/servers', serverDoc(attrs))
      expect(res.status, JSON.stringify(attrs)).toBe(422)
      expect(res.json.errors[0].source.pointer).toBe(pointer)
      expect(res.json.errors[0]).toMatchObject({
        status: '422',
        title: expect.any(String),
        detail: expect.any(String),
        code: expect.any(String),
      })
    }
  })

  it('names every missing required field on create', async () => {
    const res = await t.api('POST', '/servers', { data: { type: 'servers', attributes: { name: 'lonely' } } })
    expect(res.status).toBe(422)
    expect(res.json.errors.map((e: { source: { pointer: string } }) => e.source.pointer).sort()).toEqual([
      '/data/attributes/baseDomain',
      '/data/attributes/host',
    ])
  })

  it('refuses a wrong document type, a missing data member and an invalid id', async () => {
    expect((await t.api('POST', '/servers', { data: { type: 'clients', attributes: {} } })).status).toBe(422)
    expect((await t.api('POST', '/servers', { name: 'x' })).status).toBe(422)
    const badId = await t.api('POST', '/servers', { data: { type: 'servers', id: '1 OR 1=1', attributes: {} } })
    expect(badId.status).toBe(422)
    expect(badId.json.errors[0].source.pointer).toBe('/data/id')
    const badPath = await t.api('GET', '/servers/not-a-uuid')
    expect(badPath.status).toBe(400)
    expect(badPath.json.errors[0].source.parameter).toBe('id')
  })

  it('answers malformed JSON, wrong content type and oversized bodies with 4xx documents', async () => {
    const malformed = await t.api('POST', '/servers', '{"data": ')
    expect(malformed.status).toBe(400)
    expect(malformed.json.errors[0].status).toBe('400')
    const wrongType = await t.api('POST', '/servers', 'name=x', { 'Content-Type': 'application/x-www-form-urlencoded' })
    expect(wrongType.status).toBe(415)
    const big = await t.api('POST', '/servers', serverDoc({ name: 'big', pad: 'x'.repeat(10_000) }))
    expect(big.status).toBe(413)
    expect(big.json.errors[0].code).toBe('payload_too_large')
    expect(await t.db.prisma.server.count({ where: { name: 'big' } })).toBe(0)
  })

  it('answers an unknown route with a JSON:API 404', async () => {
    const res = await t.api('GET', '/nope')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/vnd.api+json')
    expect(res.json.errors[0].code).toBe('route_not_found')
  })
})
