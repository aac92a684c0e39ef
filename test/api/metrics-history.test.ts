import type { MetricsSample } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../packages/master/src/logger.ts'
import { createMetricsStore } from '../../packages/master/src/metrics/metrics-store.ts'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

const MIN = 60_000
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0)

function sample(ts: number, cpu: number): MetricsSample {
  return {
    ts,
    host: {
      cpu,
      load: [cpu / 10, 0, 0],
      mem: { total: 1000, used: 400 + cpu, available: 600 - cpu },
      disk: [{ mount: '/', total: 10_000, used: 5_000 }],
      net: { rxBytes: ts / 1000, txBytes: 1 },
    },
    containers: [],
  }
}

describe('metrics history (per-minute rollups in the database)', () => {
  let t: TestApp
  let now = T0 + 30 * MIN
  let serverId: string
  beforeAll(async () => {
    t = await createTestApp({ clock: { now: () => new Date(now) } })
    serverId = (await t.api('POST', '/servers', serverDoc({ name: 'hist' }))).json.data.id
  })
  afterAll(async () => {
    await t?.close()
  })

  it('rolls samples up per minute (avg and max CPU, latest gauges) and serves them beyond the raw window', async () => {
    const m = t.services.metrics
    for (const [offset, cpu] of [
      [0, 10],
      [20_000, 30],
      [40_000, 50],
      [MIN, 70],
      [MIN + 30_000, 90],
      [2 * MIN, 5],
    ] as const)
      m.ingest(serverId, sample(T0 + offset, cpu))
    await m.flush()
    const res = await t.api(
      'GET',
      `/servers/${serverId}/metrics?from=${new Date(T0 - MIN).toISOString()}&to=${new Date(T0 + 10 * MIN).toISOString()}&step=60`,
    )
    expect(res.status).toBe(200)
    const { source, points } = res.json.data.attributes
    expect(source).toBe('rollup')
    expect(points.map((p: { ts: number }) => p.ts)).toEqual([T0, T0 + MIN, T0 + 2 * MIN])
    expect(points[0]).toMatchObject({ cpu: 30, cpuMax: 50, samples: 3, memUsed: 450, memTotal: 1000 })
    expect(points[1]).toMatchObject({ cpu: 80, cpuMax: 90, samples: 2 })
    const wide = await t.api('GET', `/servers/${serverId}/metrics?from=${T0 - MIN}&to=${T0 + 10 * MIN}&step=180`)
    expect(wide.json.data.attributes.points).toHaveLength(1)
    expect(wide.json.data.attributes.step).toBe(180)
  })

  it('serves the raw window for recent ranges and drops rollups older than 30 days', async () => {
    const m = t.services.metrics
    const old = now - 31 * 24 * 60 * MIN
    await t.db.prisma.metricRollup.create({
      data: {
        serverId,
        minute: new Date(old),
        samples: 1,
        cpuAvg: 1,
        cpuMax: 1,
        load1: 0,
        memUsedBytes: 1n,
        memTotalBytes: 1n,
        diskUsedBytes: 1n,
        diskTotalBytes: 1n,
        netRxBytes: 1n,
        netTxBytes: 1n,
      },
    })
    m.ingest(serverId, sample(old + MIN, 1))
    m.ingest(serverId, sample(now - 5_000, 42))
    now += 61 * MIN
    await m.flush()
    const rows = await t.db.prisma.metricRollup.findMany({ where: { serverId } })
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.minute.getTime() > now - 30 * 24 * 60 * MIN)).toBe(true)
    now -= 61 * MIN
    m.ingest(serverId, sample(now - 5_000, 42))
    const recent = await t.api('GET', `/servers/${serverId}/metrics?from=${now - 5 * MIN}&to=${now}`)
    expect(recent.json.data.attributes.source).toBe('raw')
    expect(recent.json.data.attributes.points.map((p: { cpu: number }) => p.cpu)).toContain(42)
    const server = await t.api('GET', `/servers/${serverId}`)
    expect(server.json.data.attributes.metrics.host.cpu).toBe(42)
  })

  it('refuses malformed ranges with 400', async () => {
    for (const q of ['from=yesterday', 'step=0', 'step=abc', `from=${T0}&to=${T0 - 1}`, 'bogus=1']) {
      expect((await t.api('GET', `/servers/${serverId}/metrics?${q}`)).status, q).toBe(400)
    }
  })

  it('spreads the periodic writes: a slice of latest samples per flush, every server within the persist interval, rollups too', async () => {
    const ids: string[] = []
    for (let i = 0; i < 24; i++)
      ids.push((await t.api('POST', '/servers', serverDoc({ name: `spread-${i}` }))).json.data.id)
    const store = createMetricsStore({
      prisma: t.db.prisma,
      sql: t.db.sql,
      clock: { now: () => new Date(now) },
      logger: createLogger({ level: 'silent' }),
      flushMs: 5_000,
      persistLatestMs: 60_000,
    })
    const stored = async () => (await t.db.prisma.serverMetrics.findMany({ where: { serverId: { in: ids } } })).length
    for (const id of ids) store.ingest(id, sample(now - 10_000, 1))
    // 24 servers, a flush every 5 s, each persisted once a minute: 2 per flush.
    await store.flush({ spread: true })
    expect(await stored()).toBe(2)
    for (let k = 1; k < 12; k++) await store.flush({ spread: true })
    expect(await stored()).toBe(24)
    // The minute closes for all 24 at once; the rollups go out over the following flushes, none lost.
    now += 2 * MIN
    for (const id of ids) store.ingest(id, sample(now - 1_000, 2))
    for (let k = 0; k < 12; k++) await store.flush({ spread: true })
    expect(await t.db.prisma.metricRollup.count({ where: { serverId: { in: ids } } })).toBe(24)
  })
})
