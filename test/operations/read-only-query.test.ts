// A read-only query of an agent (GET /servers/{id}/images) writes its operation once, when it ends: no row while the
// agent works; a list that succeeded is journaled and its row, outcome, ack, log lines and recorded images written
// behind the answer in one transaction (one xmin), visible to GET /operations/{id} at once. A failed one, one whose
// agent is lost and one whose wait gives up end with a row before their answer.
import type { ImageSummary } from '@alfa/protocol'
import { wireError } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'

const image = (ref: string, sizeBytes = 100): ImageSummary => ({
  ref,
  id: `sha256:${'b'.repeat(64)}`,
  tags: [ref],
  sizeBytes,
  createdAt: Date.parse('2026-11-01T12:00:00.000Z'),
  labels: { 'alfa.version': '1.0.0', 'alfa.channel': 'master' },
})

describe('a read-only query is recorded once, when it ends (in-process master, fake agents)', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster({ graceMs: 500, imagesWaitMs: 3_000 })
  })
  afterAll(async () => {
    await m?.stop()
  })

  const sql = <Row>(text: string, params: unknown[]) => m.master.db.sql.query<Row>(text, params)
  const rowOf = async (commandId: string) =>
    (
      await sql<{ id: string; status: string; xmin: string; ackedAt: Date | null; result: unknown; error: unknown }>(
        `SELECT id, status::text AS status, xmin::text AS xmin, "ackedAt", result, error
           FROM "Operation" WHERE "commandId" = $1::uuid`,
        [commandId],
      )
    )[0]

  it('answers from the catalog, then writes the row, its outcome and ack and the images in one transaction', async () => {
    const a = await m.addAgent('roq-ok')
    const agent = await a.connect({ script: { 'image.list': () => 'hold' } })
    await a.agent.close()
    const client = await m.master.db.prisma.client.create({
      data: {
        slug: 'roq-user',
        name: 'User',
        domain: 'roq-user.example.com',
        serverId: a.serverId,
        status: 'active',
        image: 'mol:1.0.0',
        ownerLogin: 'owner',
        ownerEmail: 'o@example.com',
      },
    })
    const answer = m.api('GET', `/servers/${a.serverId}/images`)
    const frame = await agent.waitForCommand('image.list')
    await new Promise((resolve) => setTimeout(resolve, 300)) // the ack is in; a row written at begin would be too
    expect(await rowOf(frame.id)).toBeUndefined()
    agent.reply(frame.id, { ok: true, data: { images: [image('mol:1.0.0')] } })
    const res = await answer
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    expect(res.json.data[0].attributes).toMatchObject({ ref: 'mol:1.0.0', clientIds: [client.id], clientsCount: 1 })
    // The answer's operation reads back at once: the read waits for the row written behind it.
    const op = await m.api('GET', `/operations/${res.json.meta.operation}`)
    expect(op.status).toBe(200)
    expect(op.json.data.attributes).toMatchObject({ status: 'succeeded', kind: 'server.images' })
    const row = (await rowOf(frame.id))!
    expect(row).toMatchObject({ id: res.json.meta.operation, status: 'succeeded', error: null })
    expect(row.result).toEqual({ images: [image('mol:1.0.0')] })
    expect(row.ackedAt).toBeInstanceOf(Date)
    const [img] = await sql<{ xmin: string }>(`SELECT xmin::text AS xmin FROM "Image" WHERE "serverId" = $1::uuid`, [
      a.serverId,
    ])
    expect(img!.xmin).toBe(row.xmin)
    // Nothing else is written for it: a read-only GET gets no audit row (its operation row says who asked).
    expect(await m.master.db.prisma.auditEntry.count({ where: { route: '/servers/:id/images' } })).toBe(0)

    // The same list again: a second row, and the unchanged image record is not rewritten.
    const again = m.api('GET', `/servers/${a.serverId}/images`)
    const second = await agent.waitForCommand('image.list', 2)
    agent.reply(second.id, { ok: true, data: { images: [image('mol:1.0.0')] } })
    expect((await again).status).toBe(200)
    await waitUntil(async () => (await rowOf(second.id))?.status === 'succeeded', {
      timeoutMs: 5_000,
      what: 'the second row, written behind its answer',
    })
    const [same] = await sql<{ xmin: string }>(`SELECT xmin::text AS xmin FROM "Image" WHERE "serverId" = $1::uuid`, [
      a.serverId,
    ])
    expect(same!.xmin).toBe(row.xmin)
    await agent.close()
  })

  it('ends a failed one with a row: its error and log line, written together', async () => {
    const a = await m.addAgent('roq-fail')
    const agent = await a.connect({
      script: { 'image.list': () => ({ ok: false, error: wireError('INTERNAL', 'docker is down') }) },
    })
    await a.agent.close()
    const res = await m.api('GET', `/servers/${a.serverId}/images`)
    expect(res.status).toBe(502)
    expect(res.json.data.attributes).toMatchObject({ status: 'failed', error: { code: 'INTERNAL' } })
    const row = (await rowOf(agent.commands[0]!.id))!
    const lines = await sql<{ message: string; xmin: string }>(
      `SELECT message, xmin::text AS xmin FROM "OperationLog" WHERE "operationId" = $1::uuid`,
      [row.id],
    )
    expect(lines).toEqual([{ message: 'INTERNAL: docker is down', xmin: row.xmin }])
    await agent.close()
  })

  it('ends one whose agent is lost as interrupted, with a row', async () => {
    const a = await m.addAgent('roq-lost')
    const agent = await a.connect({ script: { 'image.list': () => 'hold' } })
    await a.agent.close()
    const answer = m.api('GET', `/servers/${a.serverId}/images`)
    const frame = await agent.waitForCommand('image.list')
    await agent.drop()
    const res = await answer
    expect(res.status).toBe(502)
    expect(res.json.data.attributes).toMatchObject({ status: 'interrupted', error: { code: 'INTERRUPTED' } })
    expect((await rowOf(frame.id))!.status).toBe('interrupted')
  })

  it('records one whose wait gives up as running (202), and a later result ends it as any operation', async () => {
    const a = await m.addAgent('roq-slow')
    const agent = await a.connect({ script: { 'image.list': () => 'hold' } })
    await a.agent.close()
    const res = await m.api('GET', `/servers/${a.serverId}/images`)
    expect(res.status).toBe(202)
    expect(res.json.data.attributes.status).toBe('running')
    const frame = agent.commands[0]!
    expect((await rowOf(frame.id))!).toMatchObject({ id: res.json.data.id, status: 'running' })
    agent.reply(frame.id, { ok: true, data: { images: [image('mol:2.0.0', 7)] } })
    await waitUntil(async () => (await rowOf(frame.id))!.status === 'succeeded', {
      timeoutMs: 10_000,
      what: 'the late result',
    })
    const images = await m.master.db.prisma.image.findMany({ where: { serverId: a.serverId } })
    expect(images.map((i) => [i.ref, i.sizeBytes])).toEqual([['mol:2.0.0', 7n]])
    await agent.close()
  })
})
