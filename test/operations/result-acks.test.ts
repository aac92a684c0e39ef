// The master acks every result of a command that changes a server, in the order the results came, after it took them
// (the ack is sent once the turn that handled the result is over: see frame-router.ts); a result replayed after a
// reconnect, as an agent does for one it holds without an ack, is acked again. A read-only command's result gets no
// ack: its agent forgets it once sent (isReadOnlyCommand). In-process master, fake agents over real WebSockets.
import type { ImageSummary } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FakeAgent } from '../support/fake-agent.ts'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'

const image = (ref: string): ImageSummary => ({
  ref,
  id: `sha256:${'c'.repeat(64)}`,
  tags: [ref],
  sizeBytes: 100,
  createdAt: Date.parse('2026-11-01T12:00:00.000Z'),
  labels: { 'alfa.version': '1.0.0', 'alfa.channel': 'master' },
})

const acksOf = (agent: FakeAgent) => agent.received.flatMap((f) => (f.kind === 'ack' ? [f.id] : []))

describe('results are acked, every changing one and in order; read-only ones are not (in-process master)', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster({ graceMs: 500, imagesWaitMs: 5_000 })
  })
  afterAll(async () => {
    await m?.stop()
  })

  it('acks four results answered out of order, in the order they came, one ack each', async () => {
    const a = await m.addAgent('acks-order')
    const clients = [] as string[]
    for (const slug of ['acks-a', 'acks-b', 'acks-c', 'acks-d']) clients.push(await m.activeClient(slug, a.serverId))
    await a.agent.close()
    const agent = await a.connect({ script: { 'client.restart': () => 'hold' } })
    for (const id of clients) expect((await m.api('POST', `/clients/${id}/reboot`)).status).toBe(202)
    await agent.waitForCommand('client.restart', 4)
    const ids = agent.commands.filter((c) => c.type === 'client.restart').map((c) => c.id)
    const replyOrder = [ids[2]!, ids[0]!, ids[3]!, ids[1]!]
    for (const id of replyOrder) agent.reply(id, { ok: true, data: { healthy: true } })
    await waitUntil(() => acksOf(agent).filter((id) => ids.includes(id)).length >= 4, {
      timeoutMs: 10_000,
      what: 'four acks',
    })
    await new Promise((resolve) => setTimeout(resolve, 200)) // no duplicate ack arrives late either
    expect(acksOf(agent).filter((id) => ids.includes(id))).toEqual(replyOrder)
    await agent.close()
  })

  it('acks a result again when the agent replays it after a reconnect', async () => {
    const a = await m.addAgent('acks-replay')
    const clientId = await m.activeClient('acks-replay', a.serverId)
    await a.agent.close()
    const agent = await a.connect({ script: { 'client.restart': () => 'hold' } })
    expect((await m.api('POST', `/clients/${clientId}/reboot`)).status).toBe(202)
    const frame = await agent.waitForCommand('client.restart')
    agent.reply(frame.id, { ok: true, data: { healthy: true } })
    await waitUntil(() => acksOf(agent).includes(frame.id), { timeoutMs: 10_000, what: 'the ack' })
    // As if the ack had been lost with the connection: the agent comes back naming the result and sends it again.
    await agent.drop()
    const back = await a.connect({ inFlight: [frame.id] })
    back.reply(frame.id, { ok: true, data: { healthy: true } })
    await waitUntil(() => acksOf(back).includes(frame.id), { timeoutMs: 10_000, what: 'the ack of the replay' })
    const errors = back.received.filter((f) => f.kind === 'error')
    expect(errors).toEqual([])
    await back.close()
  })

  it('answers four image lists and acks none of their results (a read-only command: the agent forgot them)', async () => {
    const a = await m.addAgent('acks-none')
    const agent = await a.connect({ script: { 'image.list': () => 'hold' } })
    await a.agent.close()
    const answers = [0, 1, 2, 3].map(() => m.api('GET', `/servers/${a.serverId}/images`))
    await agent.waitForCommand('image.list', 4)
    const ids = agent.commands.map((c) => c.id)
    for (const id of [ids[2]!, ids[0]!, ids[3]!, ids[1]!])
      agent.reply(id, { ok: true, data: { images: [image('mol:1.0.0')] } })
    for (const res of await Promise.all(answers)) expect(res.status, JSON.stringify(res.json)).toBe(200)
    // Wait past the turn an ack would take (a restart's comes within it, above), then look.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(acksOf(agent)).toEqual([])
    expect(agent.received.filter((f) => f.kind === 'error')).toEqual([])
    await agent.close()
  })
})
