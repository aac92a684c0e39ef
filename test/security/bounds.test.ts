// Anything that grows with traffic has a bound: each case here pushes past the bound and checks what a user sees.
import { randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { encodeFrame, type AgentFrame, type MetricsSample } from '@alfa/protocol'
import { createLogger } from '@alfa/master'
import { WebSocket, WebSocketServer } from 'ws'
import { createJournal } from '../../packages/agent/src/journal.ts'
import { MAX_PENDING_FRAMES, openAgentSocket } from '../../packages/master/src/agent-hub/agent-socket.ts'
import type { AgentConnection } from '../../packages/master/src/agent-hub/agent-connection.ts'
import { MAX_STREAM_QUEUE } from '../../packages/master/src/servers/server-metrics-routes.ts'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'
import { makeTempDir, waitUntil } from '../support/process.ts'
import { securityCase } from './report.ts'

function sample(ts: number): MetricsSample {
  return {
    ts,
    host: {
      cpu: 10,
      load: [1, 0, 0],
      mem: { total: 1000, used: 400, available: 600 },
      disk: [{ mount: '/', total: 10_000, used: 5_000 }],
      net: { rxBytes: ts / 1000, txBytes: 1 },
    },
    containers: [],
  }
}

describe('bounds', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(async () => {
    await t?.close()
  })

  securityCase('a metrics stream whose reader stalls is closed once its queue is full', async () => {
    const created = await t.api('POST', '/servers', serverDoc({ name: 'sse-slow' }))
    expect(created.status).toBe(201)
    const id: string = created.json.data.id
    const res = await t.app.request(`/servers/${id}/metrics/stream`, {
      headers: { Authorization: `Basic ${Buffer.from('admin:Test-Admin-Pass-42').toString('base64')}` },
    })
    expect(res.status).toBe(200)
    // The reader stalls: nothing is read while far more samples arrive than one stream may queue.
    const start = Date.now()
    for (let i = 0; i < MAX_STREAM_QUEUE * 20; i++) t.services.metrics.ingest(id, sample(start + i * 1000))
    // Reading now: what was already on its way, then the end of the stream (it was closed, not grown).
    const text = await res.text()
    const events = text.split('event: metrics').length - 1
    expect(events).toBeLessThanOrEqual(MAX_STREAM_QUEUE + 2)
    // A reader that keeps up gets every sample.
    const live = await t.app.request(`/servers/${id}/metrics/stream`, {
      headers: { Authorization: `Basic ${Buffer.from('admin:Test-Admin-Pass-42').toString('base64')}` },
    })
    const reader = live.body!.getReader()
    let seen = ''
    for (let i = 0; i < 5; i++) {
      t.services.metrics.ingest(id, sample(Date.now() + 100_000 + i))
      seen += new TextDecoder().decode((await reader.read()).value)
    }
    await reader.cancel()
    expect(seen.split('event: metrics').length - 1).toBeGreaterThanOrEqual(5)
  })

  securityCase('an operation keeps at most 20,000 log lines and ends with "…N lines dropped"', async () => {
    const ops = t.services.operations
    const op = await t.db.prisma.operation.create({ data: { kind: 'server.reboot', requestedBy: 'test' } })
    const total = 25_000
    for (let i = 0; i < total; i += 1_000)
      await ops.log(
        op.id,
        Array.from({ length: 1_000 }, (_, j) => ({ message: `line ${i + j}` })),
      )
    await ops.finish(op.id, { status: 'succeeded' })
    const stored = await t.db.prisma.operationLog.count({ where: { operationId: op.id } })
    expect(stored).toBe(20_000)
    const last = await t.db.prisma.operationLog.findFirst({ where: { operationId: op.id }, orderBy: { seq: 'desc' } })
    expect(last!.message).toBe('…5001 lines dropped (an operation keeps at most 20000 log lines)')
    expect(last!.seq).toBe(20_000)
  })

  securityCase("an agent's journal keeps at most its bound of finished commands, files included", async () => {
    const dir = await makeTempDir('alfa-journal-bound')
    const journal = createJournal({ dir, logger: createLogger({ level: 'silent' }), maxFinished: 300 })
    await journal.open()
    // Commands the master never acknowledges (it refused the results, say): before the bound, all were kept a week.
    for (let i = 0; i < 1_000; i++) {
      const id = randomUUID()
      await journal.begin(id, 'client.configure', { readOnly: i % 2 === 0 })
      await journal.complete(id, { ok: true, data: {} })
    }
    expect(journal.size).toBeLessThanOrEqual(300)
    expect((await readdir(dir)).length).toBeLessThanOrEqual(300)
    expect(journal.unackedResults().length).toBe(journal.size)
  })

  securityCase(
    `an agent socket that sends faster than its frames are handled queues at most ~${MAX_PENDING_FRAMES} of them`,
    async () => {
      // A real WebSocket pair; the hub's per-connection chain is what is bounded, so its handler is held shut.
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
      let conn: AgentConnection | undefined
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const handled: number[] = []
      wss.on('connection', (ws) => {
        conn = openAgentSocket({
          ws,
          serverId: randomUUID(),
          logger: createLogger({ level: 'silent' }),
          helloTimeoutMs: 60_000,
          metrics: { ingest: () => undefined } as never,
          onFrame: async (_c, frame) => {
            await gate
            if (frame.kind === 'log') handled.push(frame.seq)
          },
          onClose: () => undefined,
        })
      })
      await new Promise((r) => wss.once('listening', r))
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
      await new Promise((r) => client.once('open', r))
      const id = randomUUID()
      const total = 30_000
      for (let seq = 0; seq < total; seq++) {
        const frame: AgentFrame = { kind: 'log', id, seq, stream: 'stdout', line: `line ${seq} ${'x'.repeat(40)}` }
        client.send(encodeFrame(frame))
      }
      // Everything the client could push has arrived by now (loopback): what the master holds is what it read.
      await new Promise((r) => setTimeout(r, 1_500))
      const held = conn!.pendingFrames
      process.stdout.write(`frames sent ${total}, held by the master while its handler is stuck: ${held}\n`)
      // The bound, plus what was already parsed from the chunk being read when the socket paused.
      expect(held).toBeLessThan(MAX_PENDING_FRAMES * 2)
      expect(held).toBeGreaterThanOrEqual(MAX_PENDING_FRAMES)
      // Released: every frame is handled, in order, none lost.
      release()
      await waitUntil(() => handled.length === total, { timeoutMs: 60_000, what: 'all frames handled' })
      expect(handled.every((seq, i) => seq === i)).toBe(true)
      client.close()
      await new Promise((r) => wss.close(r))
    },
    90_000,
  )
})
