import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonApiViolations } from '../support/jsonapi-validator.ts'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'

describe('the JSON:API validator of the tests', () => {
  it('rejects what the spec forbids, such as an attribute named type', () => {
    const op = { type: 'operations', id: '1', attributes: { type: 'client.create', status: 'running' } }
    expect(jsonApiViolations({ data: op })).toEqual(['data.attributes.type: a field may not be named type or id'])
    expect(jsonApiViolations({ data: { ...op, attributes: { status: 'x' } }, errors: [] })).toContain(
      'document: data and errors must not coexist',
    )
    expect(jsonApiViolations({ data: null, included: [{ type: 'x', id: '2', attributes: {} }] })).toContain(
      'included[0]: x/2 is not referenced by any relationship',
    )
    expect(jsonApiViolations({ errors: [{ status: 404 }] })).toContain('errors[0].status: must be a string')
    expect(jsonApiViolations({ jsonapi: { version: '1.1' }, meta: {} })).toEqual([])
  })
})

/** Every kind of answer the API gives, read through a client that checks each document against the spec. */
describe('every response type follows JSON:API 1.1', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster()
  })
  afterAll(async () => {
    await m?.stop()
  })

  it('servers, clients, operations (parents with included children), actions and errors', async () => {
    const { serverId } = await m.addAgent('jsonapi')
    const client = await m.api('POST', '/clients', {
      data: {
        type: 'clients',
        attributes: {
          name: 'Lab',
          slug: 'jsonapi-lab',
          server: serverId,
          image: 'alfa/mol:1.0-master',
          ownerLogin: 'labadmin',
          ownerEmail: 'lab@example.com',
          ownerPassword: 'Strong-Secret-2026!x',
        },
      },
    })
    expect(client.status).toBe(202)
    const clientId: string = client.json.data.id
    await waitUntil(async () => (await m.api('GET', `/clients/${clientId}`)).json.data.attributes.status === 'active', {
      timeoutMs: 10_000,
      what: 'the client',
    })
    const parent = await m.api('POST', '/test/batch', {
      data: { type: 'test-batches', attributes: { server: serverId, children: [{ ms: 1 }, { ms: 1 }] } },
    })
    await waitUntil(
      async () => (await m.api('GET', `/operations/${parent.json.data.id}`)).json.data.attributes.status !== 'running',
      { timeoutMs: 10_000, what: 'the parent' },
    )
    const answers = [
      await m.api('GET', '/servers'),
      await m.api('GET', `/servers/${serverId}`),
      await m.api('GET', `/servers/${serverId}/images`),
      await m.api('GET', '/clients'),
      await m.api('GET', `/clients/${clientId}`),
      await m.api('GET', `/clients/${clientId}/create_log`),
      await m.api('GET', `/clients/${clientId}/expire_dates_history`),
      await m.api('GET', `/clients/${clientId}/emails`),
      await m.api('POST', `/clients/${clientId}/maintain_enable`),
      await m.api('GET', '/operations'),
      await m.api('GET', `/operations?filter[kind]=client.create&sort=-kind`),
      await m.api('GET', `/operations/${parent.json.data.id}`),
      await m.api('GET', `/operations/${parent.json.included[0].id}`),
      await m.api('GET', `/operations/${crypto.randomUUID()}`),
      await m.api('GET', '/operations?filter[type]=client.create'),
      await m.api('POST', '/clients', { data: { type: 'clients', attributes: { slug: 'Bad Slug!' } } }),
      await m.api('POST', `/clients/${clientId}/reboot`),
      await m.api('POST', `/operations/${parent.json.data.id}/cancel`),
      await m.api('GET', `/servers/${serverId}/metrics`),
      // Last: a new enrollment revokes the agent's credential, so the actions after it would answer 503.
      await m.api('POST', `/servers/${serverId}/enrollment`),
      await m.api('POST', `/clients/${clientId}/maintain_disable`),
    ]
    // 200s, 202s, 400/404/409/422: every one was checked by m.api against the spec (it throws on a violation).
    const statuses = new Set(answers.map((a) => a.status))
    for (const status of [200, 202, 404, 409, 422, 503])
      expect(statuses, JSON.stringify([...statuses])).toContain(status)
    expect(statuses.has(400) || statuses.has(422)).toBe(true)
  })
})
