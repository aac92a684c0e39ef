import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic } from '../support/master-app.ts'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { waitUntil } from '../support/process.ts'

const INTERVAL_MS = 1000

describe('live monitoring through real agents', () => {
  let c: Cluster
  let server: Awaited<ReturnType<Cluster['addAgent']>>
  beforeAll(async () => {
    c = await startCluster()
    server = await c.addAgent('mon-a')
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('shows metrics on GET /servers/{id} within two sampling intervals of coming online', async () => {
    // Generous slack on top of two intervals for process scheduling on a loaded 2-core machine.
    await waitUntil(async () => Boolean((await c.api('GET', `/servers/${server.id}`)).json.data.attributes.metrics), {
      timeoutMs: 2 * INTERVAL_MS + 1500,
      what: 'metrics on the server',
    })
    const attrs = (await c.api('GET', `/servers/${server.id}`)).json.data.attributes
    expect(attrs.metrics.host.cpu).toBeGreaterThanOrEqual(0)
    expect(attrs.metrics.host.mem.total).toBeGreaterThan(0)
    expect(attrs.load).toMatchObject({ cpu: expect.any(Number), load1: expect.any(Number) })
    const list = await c.api('GET', '/servers')
    const row = list.json.data.find((s: { id: string }) => s.id === server.id)
    expect(row.attributes.online).toBe(true)
  })

  it('serves raw history from memory', async () => {
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS))
    const res = await c.api('GET', `/servers/${server.id}/metrics?from=${Date.now() - 60_000}`)
    expect(res.status).toBe(200)
    expect(res.json.data.attributes.points.length).toBeGreaterThanOrEqual(2)
  })

  it('streams live samples as Server-Sent Events', async () => {
    const ctrl = new AbortController()
    const res = await fetch(`${c.url}/servers/${server.id}/metrics/stream`, {
      headers: { Authorization: basic('admin', 'Cluster-Admin-Pass-7') },
      signal: ctrl.signal,
    })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = res.body!.getReader()
    let text = ''
    const deadline = Date.now() + 10_000
    while ((text.match(/event: metrics/g) ?? []).length < 3 && Date.now() < deadline)
      text += new TextDecoder().decode((await reader.read()).value)
    ctrl.abort()
    const events = text.split('\n\n').filter((e) => e.includes('event: metrics'))
    expect(events.length).toBeGreaterThanOrEqual(3)
    const sample = JSON.parse(
      events[1]!
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    )
    expect(sample.host.load).toHaveLength(3)
  })

  it('lists the server images through the agent from the real Docker Engine', async () => {
    const res = await c.api('GET', `/servers/${server.id}/images`)
    expect(res.status).toBe(200)
    expect(Array.isArray(res.json.data)).toBe(true)
    expect(res.json.meta.operation).toMatch(/[0-9a-f-]{36}/)
    const op = await c.api('GET', `/operations/${res.json.meta.operation}`)
    expect(op.json.data.attributes.status).toBe('succeeded')
  })
})
