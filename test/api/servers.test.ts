import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends } from '../support/backends.ts'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

describe.each(backends())('servers API on $name', (backend) => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ backend })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('creates a server (201, JSON:API document, Location) and reads it back', async () => {
    const res = await t.api('POST', '/servers', serverDoc({ name: 'alpha', dbEngine: 'postgresql', maxClients: 5 }))
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/vnd.api+json')
    expect(res.json.data).toMatchObject({
      type: 'servers',
      attributes: {
        name: 'alpha',
        dbEngine: 'postgresql',
        maxClients: 5,
        role: 'production',
        active: true,
        online: false,
        clientsCount: 0,
      },
    })
    expect(res.headers.get('location')).toBe(`/servers/${res.json.data.id}`)
    const got = await t.api('GET', `/servers/${res.json.data.id}`)
    expect(got.status).toBe(200)
    expect(got.json.data.attributes.name).toBe('alpha')
  })

  it('updates when data.id is given, and 404s for an unknown id', async () => {
    const created = await t.api('POST', '/servers/', serverDoc({ name: 'beta' }))
    const id = created.json.data.id
    const updated = await t.api('POST', '/servers', {
      data: { type: 'servers', id, attributes: { maxClients: 7, active: false } },
    })
    expect(updated.status).toBe(200)
    expect(updated.json.data.attributes).toMatchObject({ name: 'beta', maxClients: 7, active: false })
    const missing = await t.api('POST', '/servers', {
      data: { type: 'servers', id: '00000000-0000-4000-8000-000000000000', attributes: { maxClients: 1 } },
    })
    expect(missing.status).toBe(404)
  })

  it('409s on a taken name and leaves the original as it was', async () => {
    await t.api('POST', '/servers', serverDoc({ name: 'gamma', host: 'gamma.example.com' }))
    const dup = await t.api('POST', '/servers', serverDoc({ name: 'gamma', host: 'other.example.com' }))
    expect(dup.status).toBe(409)
    expect(dup.json.errors[0]).toMatchObject({ status: '409', code: 'name_taken' })
    const list = await t.api('GET', '/servers?filter[active]=all&page[size]=100')
    expect(list.json.data.filter((s: { attributes: { name: string } }) => s.attributes.name === 'gamma')).toHaveLength(
      1,
    )
  })

  it('lists active servers by default and all with filter[active]=all', async () => {
    const active = await t.api('GET', '/servers?page[size]=100')
    const all = await t.api('GET', '/servers?filter[active]=all&page[size]=100')
    expect(active.json.data.every((s: { attributes: { active: boolean } }) => s.attributes.active)).toBe(true)
    expect(all.json.meta.total).toBeGreaterThan(active.json.meta.total)
    expect(all.json.data.some((s: { attributes: { name: string } }) => s.attributes.name === 'beta')).toBe(true)
  })

  it('paginates with links and meta.total, and sorts', async () => {
    for (let i = 0; i < 12; i++)
      await t.api(
        'POST',
        '/servers',
        serverDoc({ name: `page-${String(i).padStart(2, '0')}`, role: i % 2 ? 'stage' : 'production' }),
      )
    const p1 = await t.api('GET', '/servers?filter[active]=all&page[size]=5&sort=-name')
    expect(p1.status).toBe(200)
    expect(p1.json.data).toHaveLength(5)
    const total = p1.json.meta.total
    expect(total).toBeGreaterThanOrEqual(15)
    expect(p1.json.links.first).toContain('page%5Bnumber%5D=1')
    expect(p1.json.links.prev).toBeNull()
    expect(p1.json.links.next).toContain('page%5Bnumber%5D=2')
    expect(p1.json.links.last).toContain(`page%5Bnumber%5D=${Math.ceil(total / 5)}`)
    const names = p1.json.data.map((s: { attributes: { name: string } }) => s.attributes.name)
    expect(names).toEqual([...names].sort().reverse())
    const last = await t.api('GET', p1.json.links.last)
    expect(last.json.links.next).toBeNull()
    expect(last.json.data.length).toBe(total - 5 * (Math.ceil(total / 5) - 1))
    const seen = new Set<string>()
    for (let n = 1; n <= Math.ceil(total / 5); n++) {
      const page = await t.api('GET', `/servers?filter[active]=all&page[size]=5&page[number]=${n}&sort=-name`)
      for (const s of page.json.data) seen.add(s.id)
    }
    expect(seen.size).toBe(total)
    const stage = await t.api('GET', '/servers?filter[active]=all&filter[role]=stage&page[size]=100')
    expect(stage.json.data.every((s: { attributes: { role: string } }) => s.attributes.role === 'stage')).toBe(true)
  })

  it('lists clientsCount, the stored headline load and lastSeenAt from the database when this process has no sample', async () => {
    const created = await t.api('POST', '/servers', serverDoc({ name: 'zz-stored', role: 'stage' }))
    const id = created.json.data.id as string
    for (const [slug, status] of [
      ['st-one', 'active'],
      ['st-two', 'failed'],
      ['st-gone', 'deleted'],
    ] as const) {
      await t.db.prisma.client.create({
        data: {
          slug,
          name: slug,
          domain: `${slug}.cloud.example.com`,
          serverId: id,
          ownerLogin: 'owner',
          ownerEmail: 'o@example.com',
          status,
        },
      })
    }
    const takenAt = new Date('2026-11-27T10:00:00.000Z')
    const sample = {
      ts: takenAt.getTime(),
      host: {
        cpu: 42.5,
        load: [1.5, 1, 0.5],
        mem: { total: 1000, used: 250, available: 750 },
        disk: [],
        net: { rxBytes: 1, txBytes: 2 },
      },
      containers: [],
    }
    await t.db.prisma.serverMetrics.create({ data: { serverId: id, sample, takenAt } })
    const page = await t.api('GET', '/servers?filter[active]=all&filter[role]=stage&sort=-name&page[size]=1')
    expect(page.status).toBe(200)
    expect(page.json.data[0].id).toBe(id)
    expect(page.json.data[0].attributes).toMatchObject({
      name: 'zz-stored',
      clientsCount: 2,
      lastSeenAt: takenAt.toISOString(),
      load: { cpu: 42.5, load1: 1.5, memUsedPercent: 25, at: takenAt.toISOString() },
    })
    const one = await t.api('GET', `/servers/${id}`)
    expect(one.json.data.attributes).toMatchObject({ clientsCount: 2, load: { cpu: 42.5 }, metrics: sample })
    // Past the last page: no rows, and still the total.
    const beyond = await t.api('GET', '/servers?filter[active]=all&filter[role]=stage&page[number]=999')
    expect(beyond.json.data).toEqual([])
    expect(beyond.json.meta.total).toBe(page.json.meta.total)
  })

  it('refuses unknown query parameters and malformed pages with 400 pointing at the parameter', async () => {
    for (const q of [
      'foo=1',
      'page[number]=0',
      'page[number]=abc',
      'page[size]=100000',
      'sort=password',
      'filter[active]=maybe',
      'filter[nope]=1',
    ]) {
      const res = await t.api('GET', `/servers?${q}`)
      expect(res.status, q).toBe(400)
      expect(res.json.errors[0].source.parameter, q).toBeTruthy()
    }
  })

  it('deletes a server record (204, then 404)', async () => {
    const created = await t.api('POST', '/servers', serverDoc({ name: 'doomed' }))
    const id = created.json.data.id
    expect((await t.api('DELETE', `/servers/${id}`)).status).toBe(204)
    expect((await t.api('GET', `/servers/${id}`)).status).toBe(404)
    expect((await t.api('DELETE', `/servers/${id}`)).status).toBe(404)
  })

  it('refuses to delete a server while clients live on it (409)', async () => {
    const created = await t.api('POST', '/servers', serverDoc({ name: 'busy' }))
    const id = created.json.data.id
    await t.db.prisma.client.create({
      data: {
        slug: 'lab-one',
        name: 'Lab One',
        domain: 'lab-one.cloud.example.com',
        serverId: id,
        ownerLogin: 'owner',
        ownerEmail: 'o@example.com',
      },
    })
    const res = await t.api('DELETE', `/servers/${id}`)
    expect(res.status).toBe(409)
    expect(res.json.errors[0].code).toBe('server_has_clients')
    expect((await t.api('GET', `/servers/${id}`)).status).toBe(200)
  })
})
