// Anything that grows with traffic has a bound: each case here pushes past the bound and checks what a user sees.
import type { MetricsSample } from '@alfa/protocol'
import { MAX_STREAM_QUEUE } from '../../packages/master/src/servers/server-metrics-routes.ts'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'
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
})
