import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

const ACTIONS = ['reboot', 'migrate', 'demo_enable', 'demo_disable', 'maintain_enable', 'maintain_disable']

/** Action routes without an agent: what is refused before anything is sent. (With agents: test/e2e.) */
describe('client action routes (no agent involved)', () => {
  let t: TestApp
  let active: string
  let creating: string
  beforeAll(async () => {
    t = await createTestApp()
    const serverId = (await t.api('POST', '/servers', serverDoc({ name: 'act-srv' }))).json.data.id
    const base = { serverId, ownerLogin: 'owner', ownerEmail: 'o@example.com', image: 'alfa/mol:1.0.0' }
    active = (
      await t.db.prisma.client.create({
        data: { ...base, slug: 'act-one', name: 'A', domain: 'act-one.example.com', status: 'active' },
      })
    ).id
    creating = (
      await t.db.prisma.client.create({
        data: { ...base, slug: 'act-two', name: 'B', domain: 'act-two.example.com', status: 'creating' },
      })
    ).id
  })
  afterAll(async () => {
    await t?.close()
  })

  it.each(ACTIONS)(
    'answers GET and POST /clients/{id}/%s with 503 agent_offline at once, starting no operation',
    async (action) => {
      for (const method of ['GET', 'POST']) {
        const res = await t.api(method, `/clients/${active}/${action}`)
        expect(res.status, `${method} ${action}`).toBe(503)
        expect(res.json.errors[0].code).toBe('agent_offline')
      }
      expect(await t.db.prisma.operation.count({ where: { clientId: active } })).toBe(0)
    },
  )

  it('refuses actions on a client that is not active (409) or unknown (404)', async () => {
    expect((await t.api('GET', `/clients/${creating}/migrate`)).json.errors[0].code).toBe('client_not_active')
    expect((await t.api('GET', '/clients/00000000-0000-4000-8000-000000000000/reboot')).status).toBe(404)
  })

  it('validates owner_password, expire_date and switch input', async () => {
    const weak = await t.api('POST', `/clients/${active}/owner_password`, {
      data: { type: 'owner-passwords', attributes: { password: 'owner-123' } },
    })
    expect(weak.status).toBe(422)
    expect(weak.json.errors[0].source.pointer).toBe('/data/attributes/password')
    for (const date of ['2026-13-01', '01.02.2026', "2026-01-01'; DROP TABLE", '']) {
      const res = await t.api('POST', `/clients/${active}/expire_date`, {
        data: { type: 'expire-dates', attributes: { date } },
      })
      expect(res.status, date).toBe(422)
      expect(res.json.errors[0].source.pointer).toBe('/data/attributes/date')
    }
    for (const image of ['--upload-pack=x', '$(id)', 'a%0Ab']) {
      expect((await t.api('GET', `/clients/${active}/switch/${image}`)).status, image).toBe(400)
    }
  })

  it('records expire date changes (old, new, by whom, why) even with the agent offline, newest first', async () => {
    const a = await t.api('POST', `/clients/${active}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2027-01-31', reason: 'paid a year' } },
    })
    expect(a.status).toBe(200)
    expect(a.json.data.attributes.expireDate).toBe('2027-01-31')
    await t.api('POST', `/clients/${active}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: null } },
    })
    const history = await t.api('GET', `/clients/${active}/expire_dates_history?page[size]=1`)
    expect(history.json.meta.total).toBe(2)
    expect(history.json.data[0].attributes).toMatchObject({ oldDate: '2027-01-31', newDate: null, changedBy: 'admin' })
    const second = await t.api('GET', history.json.links.next)
    expect(second.json.data[0].attributes).toMatchObject({
      oldDate: null,
      newDate: '2027-01-31',
      reason: 'paid a year',
    })
  })
})
