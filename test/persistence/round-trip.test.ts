import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../packages/master/src/db/open-database.ts'
import { backends } from '../support/backends.ts'
import { createDatabaseFixture, type DatabaseFixture } from '../support/database-fixture.ts'

// Values at the edges of what each column type must keep: above 2^53, millisecond times, nested unicode JSON.
const BIG = 2n ** 62n + 7n
const METRICS = { cpu: 0.375, load: [1.5, 0.25, 0], mem: { used: 123, total: null }, note: 'ёжик 🦔', ok: true }
const STARTED_AT = new Date('2026-02-03T04:05:06.789Z')
const EXPIRE = new Date('2027-03-31T00:00:00.000Z')

describe.each(backends())('Prisma round trip on $name', (backend) => {
  let fixture: DatabaseFixture
  let db: Database
  let serverId: string
  let clientId: string

  beforeAll(async () => {
    // PGlite from nothing, as on a first start: openDatabase must create the data dir itself.
    fixture = await createDatabaseFixture(backend, { fresh: true })
    db = await fixture.open()
  })
  afterAll(async () => {
    await db?.close()
    await fixture?.dispose()
  })

  it('opens the backend it was asked for', () => {
    expect(db.kind).toBe(backend.name)
  })

  it('stores a server and a client, JSON, arrays and dates included', async () => {
    const server = await db.prisma.server.create({
      data: {
        name: 'srv-a',
        host: '10.0.0.5',
        baseDomain: 'cloud.example.com',
        capabilities: ['container.create', 'nginx.apply'],
        lastSeenAt: STARTED_AT,
        latestMetrics: { create: { sample: METRICS, takenAt: STARTED_AT } },
      },
    })
    serverId = server.id
    const client = await db.prisma.client.create({
      data: {
        slug: 'acme',
        name: 'ACME Lab',
        domain: 'acme.cloud.example.com',
        serverId,
        ownerLogin: 'owner',
        ownerEmail: 'owner@acme.example',
        expireDate: EXPIRE,
        cpuLimit: 1.5,
      },
    })
    clientId = client.id

    const read = await db.prisma.server.findUniqueOrThrow({
      where: { id: serverId },
      include: { clients: true, latestMetrics: true },
    })
    expect(read).toMatchObject({ role: 'production', dbEngine: 'mariadb', active: true, maxClients: 100 })
    expect(read.capabilities).toEqual(['container.create', 'nginx.apply'])
    expect(read.latestMetrics).toMatchObject({ sample: METRICS, takenAt: STARTED_AT })
    expect(read.lastSeenAt).toEqual(STARTED_AT)
    expect(read.createdAt).toBeInstanceOf(Date)
    expect(read.clients).toHaveLength(1)
    expect(read.clients[0]).toMatchObject({ slug: 'acme', status: 'creating', expireDate: EXPIRE, cpuLimit: 1.5 })
  })

  it('stores an operation with its log lines in order, ids as BigInt', async () => {
    const steps = [
      { name: 'pull', status: 'succeeded' },
      { name: 'start', status: 'running' },
    ]
    const created = await db.prisma.operation.create({
      data: {
        kind: 'client.create',
        status: 'running',
        serverId,
        clientId,
        steps,
        startedAt: STARTED_AT,
        logs: { create: [1, 2, 3].map((seq) => ({ seq, message: `line ${seq}`, stream: 'stdout' })) },
        logSeq: 3,
      },
    })
    const read = await db.prisma.operation.findUniqueOrThrow({
      where: { id: created.id },
      include: { logs: { orderBy: { seq: 'asc' } } },
    })
    expect(read).toMatchObject({ status: 'running', steps, startedAt: STARTED_AT, logSeq: 3, result: null })
    expect(read.logs.map((l) => l.message)).toEqual(['line 1', 'line 2', 'line 3'])
    expect(typeof read.logs[0]?.id).toBe('bigint')

    await expect(
      db.prisma.operationLog.create({ data: { operationId: created.id, seq: 2, message: 'again' } }),
    ).rejects.toMatchObject({ code: 'P2002' })
  })

  it('keeps BigInt metric values beyond 2^53 exactly', async () => {
    const minute = new Date('2026-02-03T04:05:00.000Z')
    await db.prisma.metricRollup.create({
      data: {
        serverId,
        minute,
        samples: 6,
        cpuAvg: 0.5,
        cpuMax: 0.875,
        load1: 1.25,
        memUsedBytes: BIG,
        memTotalBytes: BIG + 1n,
        diskUsedBytes: 0n,
        diskTotalBytes: 9_007_199_254_740_993n,
        netRxBytes: 1n,
        netTxBytes: BIG,
      },
    })
    const read = await db.prisma.metricRollup.findUniqueOrThrow({ where: { serverId_minute: { serverId, minute } } })
    expect(read).toMatchObject({ memUsedBytes: BIG, memTotalBytes: BIG + 1n, diskTotalBytes: 9_007_199_254_740_993n })
    const sum = await db.prisma.metricRollup.aggregate({ where: { serverId }, _sum: { netTxBytes: true } })
    expect(sum._sum.netTxBytes).toBe(BIG)
  })

  it('sends each reminder once: a duplicate (client, kind, threshold, expire date) is rejected', async () => {
    const reminder = {
      clientId,
      kind: 'expiry-reminder',
      recipient: 'owner@acme.example',
      subject: 'Your lab expires soon',
      language: 'en',
      threshold: '7d',
      expireDate: EXPIRE,
    }
    await db.prisma.emailLog.create({ data: reminder })
    await expect(db.prisma.emailLog.create({ data: reminder })).rejects.toMatchObject({ code: 'P2002' })
    // A new expire date re-arms the reminder; letters sent by hand (no threshold) may repeat.
    await db.prisma.emailLog.create({ data: { ...reminder, expireDate: new Date('2028-01-01T00:00:00.000Z') } })
    const manual = { ...reminder, kind: 'send-success', threshold: null, expireDate: null }
    await db.prisma.emailLog.create({ data: manual })
    await db.prisma.emailLog.create({ data: manual })
    expect(await db.prisma.emailLog.count({ where: { clientId } })).toBe(4)
  })

  it('keeps everything across close and reopen (the PGlite data dir persists)', async () => {
    await db.close()
    db = await fixture.open()
    const server = await db.prisma.server.findUniqueOrThrow({
      where: { id: serverId },
      include: { clients: true, operations: { include: { logs: true } }, metricRollups: true, latestMetrics: true },
    })
    expect(server.latestMetrics?.sample).toEqual(METRICS)
    expect(server.clients.map((c) => c.expireDate)).toEqual([EXPIRE])
    expect(server.operations[0]?.logs).toHaveLength(3)
    expect(server.metricRollups[0]?.memUsedBytes).toBe(BIG)
    expect(await db.prisma.emailLog.count()).toBe(4)
  })
})
