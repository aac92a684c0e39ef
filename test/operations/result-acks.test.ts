// The master acks every result an agent sends, in the order the results came, after it took them (the ack is sent once
// the turn that handled the result is over: see frame-router.ts). A result replayed after a reconnect, as an agent does
// for one it holds without an ack, is acked again. In-process master, fake agents over real WebSockets.
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

describe('results are acked, every one and in order (in-process master, fake agents)', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster({ graceMs: 500, imagesWaitMs: 5_000 })
  })
  afterAll(async () => {
    await m?.stop()
  })

  it('acks four results answered out of order, in the order they came, one ack each', async () => {
    const a = await m.addAgent('acks-order')
    const agent = await a.connect({ script: { 'image.list': () => 'hold' } })
    await a.agent.close()
    const answers = [0, 1, 2, 3].map(() => m.api('GET', `/servers/${a.serverId}/images`))
    await agent.waitForCommand('image.list', 4)
    const ids = agent.commands.map((c) => c.id)
    const replyOrder = [ids[2]!, ids[0]!, ids[3]!, ids[1]!]
    for (const id of replyOrder) agent.reply(id, { ok: true, data: { images: [image('mol:1.0.0')] } })
    for (const res of await Promise.all(answers)) expect(res.status, JSON.stringify(res.json)).toBe(200)
    await waitUntil(() => acksOf(agent).length >= 4, { timeoutMs: 10_000, what: 'four acks' })
    await new Promise((resolve) => setTimeout(resolve, 200)) // no duplicate ack arrives late either
    expect(acksOf(agent)).toEqual(replyOrder)
    await agent.close()
  })

  it('acks a result again when the agent replays it after a reconnect', async () => {
    const a = await m.addAgent('acks-replay')
    const agent = await a.connect({ script: { 'image.list': () => 'hold' } })
    await a.agent.close()
    const answer = m.api('GET', `/servers/${a.serverId}/images`)
    const frame = await agent.waitForCommand('image.list')
    agent.reply(frame.id, { ok: true, data: { images: [image('mol:1.0.0')] } })
    expect((await answer).status).toBe(200)
    await waitUntil(() => acksOf(agent).includes(frame.id), { timeoutMs: 10_000, what: 'the ack' })
    // As if the ack had been lost with the connection: the agent comes back naming the result and sends it again.
    await agent.drop()
    const back = await a.connect({ inFlight: [frame.id] })
    back.reply(frame.id, { ok: true, data: { images: [image('mol:1.0.0')] } })
    await waitUntil(() => acksOf(back).includes(frame.id), { timeoutMs: 10_000, what: 'the ack of the replay' })
    const errors = back.received.filter((f) => f.kind === 'error')
    expect(errors).toEqual([])
    await back.close()
  })
})
