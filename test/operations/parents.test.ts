import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'
import { readSse } from '../support/sse.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any

const batch = (server: string, children: object[], more: object = {}) => ({
  data: { type: 'test-batches', attributes: { server, children, ...more } },
})

describe('parent operations (in-process master, fake agent)', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster()
  })
  afterAll(async () => {
    await m?.stop()
  })

  async function ended(id: string): Promise<Json> {
    let doc: Json
    await waitUntil(
      async () => {
        doc = (await m.api('GET', `/operations/${id}`)).json
        return !['queued', 'running'].includes(doc.data.attributes.status)
      },
      { timeoutMs: 15_000, what: `operation ${id} to end` },
    )
    return doc
  }

  it('runs every child once, two at a time, and fails the parent with per-child results when one fails', async () => {
    const { serverId, agent } = await m.addAgent('parent-a', {
      'test.sleep': (f) =>
        new Promise((resolve) =>
          setTimeout(
            () =>
              resolve(
                f.type === 'test.sleep' && f.payload.fail
                  ? { ok: false, error: { code: 'INTERNAL', message: 'asked to fail' } }
                  : { ok: true, data: { sleptMs: 100 } },
              ),
            100,
          ),
        ),
    })
    const children = [0, 1, 2, 3, 4].map((i) => ({ ms: 100, marker: `p${i}`, ...(i === 2 ? { fail: true } : {}) }))
    const res = await m.api('POST', '/test/batch', batch(serverId, children, { concurrency: 2, maxFailures: 5 }))
    expect(res.status).toBe(202)
    const doc = await ended(res.json.data.id)
    expect(doc.data.attributes.status).toBe('failed')
    expect(doc.data.attributes.progress).toMatchObject({ total: 5, succeeded: 4, failed: 1, notStarted: 0 })
    expect(doc.data.attributes.error).toMatchObject({ code: 'CHILDREN_FAILED' })
    expect(doc.data.relationships.children.data).toHaveLength(5)
    expect(doc.included.map((c: Json) => [c.attributes.childIndex, c.attributes.status])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'failed'],
      [3, 'succeeded'],
      [4, 'succeeded'],
    ])
    // A child links back to its parent.
    const child = (await m.api('GET', `/operations/${doc.included[0].id}`)).json.data
    expect(child.relationships.parent.data).toEqual({ type: 'operations', id: res.json.data.id })
    const markers = agent.commands.map((c) => (c.type === 'test.sleep' ? c.payload.marker : undefined)).sort()
    expect(markers).toEqual(['p0', 'p1', 'p2', 'p3', 'p4'])
  })

  it('starts no new child after max failures', async () => {
    const { serverId, agent } = await m.addAgent('parent-b')
    const children = [0, 1, 2, 3].map((i) => ({ ms: 10, ...(i === 0 ? { fail: true } : {}) }))
    const res = await m.api('POST', '/test/batch', batch(serverId, children, { concurrency: 1, maxFailures: 1 }))
    const doc = await ended(res.json.data.id)
    expect(doc.data.attributes.status).toBe('failed')
    expect(doc.data.attributes.progress).toMatchObject({ total: 4, failed: 1, notStarted: 3 })
    expect(agent.commands).toHaveLength(1)
  })

  it('cancels: running children finish, no new one starts, the parent ends interrupted', async () => {
    const { serverId, agent } = await m.addAgent('parent-c', { 'test.sleep': () => 'hold' })
    const res = await m.api('POST', '/test/batch', batch(serverId, [{ ms: 10 }, { ms: 10 }, { ms: 10 }]))
    const id: string = res.json.data.id
    await agent.waitForCommand('test.sleep', 2)
    const cancelled = await m.api('POST', `/operations/${id}/cancel`)
    expect(cancelled.status).toBe(200)
    expect(cancelled.json.data.attributes.cancelledAt).not.toBeNull()
    for (const c of agent.commands) agent.reply(c.id, { ok: true, data: { sleptMs: 10 } })
    const doc = await ended(id)
    expect(doc.data.attributes.status).toBe('interrupted')
    expect(doc.data.attributes.error).toMatchObject({ code: 'CANCELLED' })
    expect(doc.data.attributes.progress).toMatchObject({ succeeded: 2, notStarted: 1 })
    expect(agent.commands).toHaveLength(2)
    expect((await m.api('POST', `/operations/${id}/cancel`)).status).toBe(409)
  })

  it('retries a child that ended interrupted once, and only once; its first attempt is kept apart', async () => {
    const seen = new Map<string, number>()
    const { serverId, agent } = await m.addAgent('parent-d', {
      'test.sleep': (f) => {
        const marker = f.type === 'test.sleep' ? (f.payload.marker ?? '') : ''
        const n = (seen.get(marker) ?? 0) + 1
        seen.set(marker, n)
        // r1 is interrupted on its first run only, r2 on every run.
        const interrupted = (marker === 'r1' && n === 1) || marker === 'r2'
        return Promise.resolve(
          interrupted
            ? { ok: false, error: { code: 'INTERRUPTED', message: 'the agent stopped while this command was running' } }
            : { ok: true, data: { sleptMs: 1 } },
        )
      },
    })
    const children = [0, 1, 2].map((i) => ({ ms: 1, marker: `r${i}` }))
    const res = await m.api('POST', '/test/batch', batch(serverId, children, { concurrency: 1, maxFailures: 5 }))
    const doc = await ended(res.json.data.id)
    expect(doc.data.attributes.status).toBe('failed')
    expect(doc.data.attributes.progress).toMatchObject({ total: 3, succeeded: 2, interrupted: 1, notStarted: 0 })
    expect(Object.fromEntries(seen)).toEqual({ r0: 1, r1: 2, r2: 2 })
    expect(doc.included.map((c: Json) => [c.attributes.childIndex, c.attributes.status])).toEqual([
      [-3, 'interrupted'],
      [-2, 'interrupted'],
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'interrupted'],
    ])
    const log = (await m.api('GET', `/operations/${res.json.data.id}`)).json.data.attributes.log
    const retries = log.filter((l: Json) => /starting it once more/.test(l.message)).map((l: Json) => l.message)
    expect(retries).toEqual([
      'child 1 was interrupted (INTERRUPTED: the agent stopped while this command was running): starting it once more',
      'child 2 was interrupted (INTERRUPTED: the agent stopped while this command was running): starting it once more',
    ])
    expect(agent.commands).toHaveLength(5)
  })

  it('streams a parent as Server-Sent Events: every child change, the counts, then "end"', async () => {
    const { serverId, agent } = await m.addAgent('parent-e', { 'test.sleep': () => 'hold' })
    const res = await m.api(
      'POST',
      '/test/batch',
      batch(serverId, [{ ms: 1 }, { ms: 1 }, { ms: 1 }], { concurrency: 1 }),
    )
    const id: string = res.json.data.id
    await agent.waitForCommand('test.sleep', 1)
    const replied = new Set<string>()
    const stream = await readSse(`${m.master.url}/operations/${id}/events`, m.authorization, {
      timeoutMs: 20_000,
      // Each child is answered once the stream has shown it running: the stream must carry every change.
      onEvent(e) {
        if (e.event !== 'child' || e.data.status !== 'running' || replied.has(e.data.id)) return
        replied.add(e.data.id)
        const cmd = agent.commands[e.data.childIndex]!
        setTimeout(() => agent.reply(cmd.id, { ok: true, data: { sleptMs: 1 } }), 50)
      },
    })
    expect(stream.status).toBe(200)
    expect(stream.contentType).toContain('text/event-stream')
    const children = stream.events
      .filter((e) => e.event === 'child')
      .map((e) => `${e.data.childIndex} ${e.data.status}`)
    expect([...new Set(children)]).toEqual([
      '0 running',
      '0 succeeded',
      '1 running',
      '1 succeeded',
      '2 running',
      '2 succeeded',
    ])
    const counts = stream.events.filter((e) => e.event === 'operation').map((e) => e.data.progress.succeeded)
    expect(counts[0]).toBe(0)
    expect(counts.at(-1)).toBe(3)
    expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: { id, status: 'succeeded' } })
    expect((await fetch(`${m.master.url}/operations/${id}/events`)).status).toBe(401)
    const unknown = await fetch(`${m.master.url}/operations/0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70/events`, {
      headers: { Authorization: m.authorization },
    })
    expect(unknown.status).toBe(404)
  })
})
