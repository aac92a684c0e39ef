import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

const HOSTILE = ['a; rm -rf /', '$(id)', '`id`', '--upload-pack=x', '../../etc/x', 'a\nb', 'x'.repeat(300), 'аlpha', '']
const VALID = {
  name: 'Lab One',
  slug: 'lab-one',
  image: 'alfa/mol:1.0.0',
  ownerLogin: 'owner',
  ownerEmail: 'owner@example.com',
  ownerPassword: 'Strong-Lab-Pass-2026!',
}
const doc = (attrs: Record<string, unknown>, id?: string) => ({
  data: { type: 'clients', ...(id ? { id } : {}), attributes: attrs },
})

describe('clients API (validation, listing; no agent involved)', () => {
  let t: TestApp
  let serverId: string
  beforeAll(async () => {
    t = await createTestApp()
    serverId = (await t.api('POST', '/servers', serverDoc({ name: 'cl-srv' }))).json.data.id
  })
  afterAll(async () => {
    await t?.close()
  })

  const counts = async () => ({
    clients: await t.db.prisma.client.count(),
    operations: await t.db.prisma.operation.count(),
  })

  it.each([
    'name',
    'slug',
    'domain',
    'server',
    'image',
    'ownerLogin',
    'ownerEmail',
    'contactEmail',
    'expireDate',
    'language',
    'memoryLimitMb',
    'cpuLimit',
  ])('refuses hostile values in %s with 422 pointing at the field, creating nothing', async (field) => {
    const before = await counts()
    for (const value of HOSTILE) {
      if (field === 'name' && value.length > 0 && value.length <= 200 && !value.includes('\n')) continue // names are free text
      const res = await t.api('POST', '/clients', doc({ ...VALID, server: serverId, [field]: value }))
      expect(res.status, `${field}=${JSON.stringify(value)}`).toBe(422)
      expect(res.json.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toContain(
        `/data/attributes/${field}`,
      )
    }
    expect(await counts()).toEqual(before)
  })

  it('refuses weak owner passwords and names the missing fields', async () => {
    const weak = await t.api('POST', '/clients', doc({ ...VALID, ownerPassword: 'short' }))
    expect(weak.status).toBe(422)
    expect(weak.json.errors[0]).toMatchObject({
      code: 'weak_password',
      source: { pointer: '/data/attributes/ownerPassword' },
    })
    expect(JSON.stringify(weak.json)).not.toContain('short')
    const missing = await t.api('POST', '/clients', doc({ name: 'x' }))
    expect(missing.json.errors.map((e: { source: { pointer: string } }) => e.source.pointer).sort()).toEqual(
      // No image: a create without one takes the server's newest production image (default-image.test.ts).
      ['ownerEmail', 'ownerLogin', 'ownerPassword', 'slug'].map((f) => `/data/attributes/${f}`),
    )
  })

  it('answers 503 agent_offline at once when the server has no agent, writing nothing', async () => {
    const before = await counts()
    const res = await t.api('POST', '/clients', doc({ ...VALID, server: serverId }))
    expect(res.status).toBe(503)
    expect(res.json.errors[0].code).toBe('agent_offline')
    expect(await counts()).toEqual(before)
  })

  it('filters, sorts and paginates a list of 120 clients', async () => {
    const other = (await t.api('POST', '/servers', serverDoc({ name: 'cl-srv-2' }))).json.data.id
    await t.db.prisma.client.createMany({
      data: Array.from({ length: 120 }, (_, i) => ({
        slug: `lab-${String(i).padStart(3, '0')}`,
        name: `Laboratory ${i % 2 ? 'North' : 'South'} ${i}`,
        domain: `lab-${i}.example.com`,
        serverId: i % 3 ? serverId : other,
        ownerLogin: 'owner',
        ownerEmail: `o${i}@example.com`,
        status: i % 10 ? 'active' : 'failed',
        expireDate: new Date(Date.UTC(2027, 0, 1 + i)),
      })),
    })
    const all = await t.api('GET', '/clients?page[size]=50')
    expect(all.json.meta.total).toBe(120)
    expect(all.json.data).toHaveLength(50)
    expect(all.json.links.next).toContain('page%5Bnumber%5D=2')
    expect(all.json.data[0].attributes).toMatchObject({
      url: expect.stringMatching(/^http:\/\/lab-\d+\.example\.com\/$/),
      available: null,
    })
    expect(all.json.data[0].attributes).not.toHaveProperty('ownerPasswordEnc')
    const onOther = await t.api('GET', `/clients?filter[server]=${other}&page[size]=500`)
    expect(onOther.json.meta.total).toBe(40)
    const failed = await t.api('GET', '/clients?filter[status]=failed&page[size]=500')
    expect(failed.json.meta.total).toBe(12)
    const north = await t.api('GET', '/clients?filter[q]=NORTH&page[size]=500')
    expect(north.json.meta.total).toBe(60)
    const byMail = await t.api('GET', '/clients?filter[q]=o7@example')
    expect(byMail.json.data.map((c: { attributes: { slug: string } }) => c.attributes.slug)).toContain('lab-007')
    const sorted = await t.api('GET', '/clients?sort=-expireDate&page[size]=3')
    expect(sorted.json.data.map((c: { attributes: { slug: string } }) => c.attributes.slug)).toEqual([
      'lab-119',
      'lab-118',
      'lab-117',
    ])
    const last = await t.api('GET', '/clients?page[size]=50&page[number]=3')
    expect(last.json.data).toHaveLength(20)
    expect((await t.api('GET', '/clients?sort=ownerPasswordEnc')).status).toBe(400)
  })

  it('updates plain fields, refuses a password or immutable fields in an update, and keeps expire history', async () => {
    const row = await t.db.prisma.client.findUniqueOrThrow({ where: { slug: 'lab-005' } })
    const pw = await t.api('POST', '/clients', doc({ ownerPassword: 'Another-Pass-2026!' }, row.id))
    expect(pw.status).toBe(422)
    expect(pw.json.errors[0]).toMatchObject({
      code: 'owner_password',
      source: { pointer: '/data/attributes/ownerPassword' },
    })
    expect((await t.api('POST', '/clients', doc({ slug: 'renamed' }, row.id))).status).toBe(422)
    const upd = await t.api(
      'POST',
      '/clients',
      doc({ name: 'Renamed Lab', language: 'en', expireDate: '2030-05-01' }, row.id),
    )
    expect(upd.status).toBe(200)
    expect(upd.json.data.attributes).toMatchObject({ name: 'Renamed Lab', language: 'en', expireDate: '2030-05-01' })
    // The new date is recorded; with the agent offline it cannot reach the server now, and the answer says so.
    expect(upd.json.data.meta.pending).toMatch(/offline.*the change is recorded, and goes to the server once its agent/)
    const limits = await t.api('POST', '/clients', doc({ memoryLimitMb: 512, cpuLimit: 1.5 }, row.id))
    expect(limits.status).toBe(200)
    expect(limits.json.data.attributes).toMatchObject({ memoryLimitMb: 512, cpuLimit: 1.5 })
    expect(limits.json.data.meta.pending).toMatch(/offline.*the change is recorded/)
    expect(await t.db.prisma.operation.count({ where: { clientId: row.id } })).toBe(0)
    // Marked for the enforcer, which sends it once the agent is back (test/operations/pending-settings).
    expect((await t.db.prisma.client.findUniqueOrThrow({ where: { id: row.id } })).settingsPending).toBe(true)
    const history = await t.db.prisma.expireDateHistory.findMany({ where: { clientId: row.id } })
    expect(history).toHaveLength(1)
    expect(history[0]!.changedBy).toBe('admin')
  })

  it('404s create_log of an unknown client and treats a second delete as harmless', async () => {
    expect((await t.api('GET', '/clients/00000000-0000-4000-8000-000000000000/create_log')).status).toBe(404)
    const row = await t.db.prisma.client.findUniqueOrThrow({ where: { slug: 'lab-006' } })
    await t.db.prisma.client.update({ where: { id: row.id }, data: { status: 'deleted' } })
    const res = await t.api('DELETE', `/clients/${row.id}`)
    expect(res.status).toBe(200)
    expect(res.json.data.attributes.status).toBe('deleted')
  })
})
