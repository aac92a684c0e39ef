// The hot paths (a command's operation row, its outcome, batched acks, the server list) use single raw statements
// instead of the ORM. These tests hold them to the ORM's behaviour on both databases: the same row shape, times in
// UTC whatever the session's time zone, and the once-only rule of finish.
import { randomUUID } from 'node:crypto'
import type { ImageSummary } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../packages/master/src/clock.ts'
import type { Database } from '../../packages/master/src/db/open-database.ts'
import { createLogger } from '../../packages/master/src/logger.ts'
import { createCommandTracker } from '../../packages/master/src/agent-hub/command-tracker.ts'
import { createAgentCredentials, hashSecret } from '../../packages/master/src/agent-hub/agent-credentials.ts'
import { createPresenceWriter } from '../../packages/master/src/agent-hub/presence-writer.ts'
import { createOperationLogWriter } from '../../packages/master/src/operations/operation-log-writer.ts'
import {
  createOperationService,
  type OperationService,
} from '../../packages/master/src/operations/operation-service.ts'
import { createServerListQuery } from '../../packages/master/src/servers/server-list-query.ts'
import { recordImages } from '../../packages/master/src/images/image-record.ts'
import { backends } from '../support/backends.ts'
import { createDatabaseFixture, type DatabaseFixture } from '../support/database-fixture.ts'

const logger = createLogger({ level: 'silent' })
/** Far from UTC, so a timestamp converted through the session's zone would be off by hours. */
const ZONE = 'Pacific/Kiritimati'

describe.each(backends())('raw statements on $name', (backend) => {
  let fixture: DatabaseFixture
  let db: Database
  let operations: OperationService
  let serverId: string

  beforeAll(async () => {
    fixture = await createDatabaseFixture(backend)
    db = await fixture.open()
    if (db.kind === 'postgres') {
      // Every pooled session of the reopened client starts in ZONE.
      const [{ name }] = await db.prisma.$queryRawUnsafe<[{ name: string }]>('SELECT current_database() AS name')
      await db.prisma.$executeRawUnsafe(`ALTER DATABASE "${name}" SET timezone TO '${ZONE}'`)
      await db.close()
      db = await fixture.open()
    } else {
      await db.prisma.$executeRawUnsafe(`SET TIME ZONE '${ZONE}'`)
    }
    const [{ zone }] = await db.prisma.$queryRawUnsafe<[{ zone: string }]>("SELECT current_setting('TimeZone') AS zone")
    expect(zone).toBe(ZONE)
    operations = createOperationService({
      prisma: db.prisma,
      sql: db.sql,
      clock: systemClock,
      logger,
      logs: createOperationLogWriter({ prisma: db.prisma, sql: db.sql, logger }),
    })
    serverId = (
      await db.prisma.server.create({ data: { name: 'raw-1', host: '10.0.0.1', baseDomain: 'raw.example.com' } })
    ).id
  })
  /** A running operation as `begin` writes it (through the ORM). */
  const insertRunning = () =>
    db.prisma.operation.create({
      data: {
        kind: 'server.images',
        status: 'running',
        serverId,
        requestedBy: 'admin',
        commandId: randomUUID(),
        command: { type: 'image.list', payload: {} },
        deadlineAt: new Date(),
        startedAt: new Date(),
      },
    })

  afterAll(async () => {
    await db?.close()
    await fixture?.dispose()
  })

  it('finishes once: the first outcome stands and a second call returns undefined', async () => {
    const op = await insertRunning()
    const before = Date.now()
    const done = await operations.finish(op.id, {
      status: 'succeeded',
      result: { images: [{ ref: 'a:1', n: 2 ** 40 }] },
    })
    expect(done?.previousStatus).toBe('running')
    expect(done?.operation).toMatchObject({
      id: op.id,
      status: 'succeeded',
      result: { images: [{ ref: 'a:1', n: 2 ** 40 }] },
      error: null,
    })
    expect(done?.operation).toEqual(await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } }))
    expect(Math.abs(done!.operation.finishedAt!.getTime() - before)).toBeLessThan(60_000)
    expect(
      await operations.finish(op.id, { status: 'failed', error: { code: 'LATE', message: 'too late' } }),
    ).toBeUndefined()
    expect(await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } })).toMatchObject({
      status: 'succeeded',
      error: null,
    })
    expect(await operations.finish(randomUUID(), { status: 'failed' })).toBeUndefined()
  })

  it('keeps an error and leaves result alone on failure', async () => {
    const op = await insertRunning()
    const done = await operations.finish(op.id, {
      status: 'interrupted',
      error: { code: 'INTERRUPTED', message: 'gone', data: { why: ['x'] } },
    })
    expect(done?.operation).toMatchObject({
      status: 'interrupted',
      result: null,
      error: { code: 'INTERRUPTED', message: 'gone', data: { why: ['x'] } },
    })
  })

  it("lets the agent's late outcome replace only an ending the master decided", async () => {
    const op = await insertRunning()
    const gaveUp = {
      status: 'interrupted' as const,
      error: { code: 'INTERRUPTED', message: 'gone', origin: 'master' as const },
    }
    expect(await operations.finish(op.id, gaveUp)).toBeDefined()
    // Another master decision does not replace it; the agent's outcome does, once.
    expect(await operations.finish(op.id, { status: 'failed' })).toBeUndefined()
    const late = await operations.finish(
      op.id,
      { status: 'succeeded', result: { ok: 1 } },
      { replaceMasterEnding: true },
    )
    expect(late?.previousStatus).toBe('interrupted')
    expect(late?.operation).toMatchObject({ status: 'succeeded', result: { ok: 1 }, error: null })
    expect(
      await operations.finish(
        op.id,
        { status: 'failed', error: { code: 'X', message: 'x' } },
        { replaceMasterEnding: true },
      ),
    ).toBeUndefined()
  })

  it('writes batched acks, each with its own time, once', async () => {
    const tracker = createCommandTracker({
      prisma: db.prisma,
      sql: db.sql,
      operations,
      completions: { run: async () => {} },
      logger,
    })
    const ops = await Promise.all([1, 2, 3].map(() => insertRunning()))
    const before = Date.now()
    for (const op of ops.slice(0, 2)) tracker.acked(op.id)
    await tracker.flushAcks()
    const [a, b, c] = await Promise.all(
      ops.map((op) => db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } })),
    )
    for (const acked of [a!, b!]) expect(Math.abs(acked.ackedAt!.getTime() - before)).toBeLessThan(60_000)
    expect(c!.ackedAt).toBeNull()
    // A second ack (a re-sent command) keeps the first time.
    tracker.acked(ops[0]!.id)
    await tracker.flushAcks()
    expect((await db.prisma.operation.findUniqueOrThrow({ where: { id: ops[0]!.id } })).ackedAt).toEqual(a!.ackedAt)
  })

  it('records the reported images exactly: new tags added, known ones updated, vanished ones removed', async () => {
    const image = (tags: string[], sizeBytes: number, version?: string): ImageSummary => ({
      ref: tags[0] ?? '<none>:<none>',
      id: `sha256:${'a'.repeat(64)}`,
      tags,
      sizeBytes,
      createdAt: Date.parse('2026-11-01T12:00:00.000Z'),
      labels: version ? { 'alfa.version': version, 'alfa.channel': 'master' } : ({} as Record<string, string>),
    })
    const stored = async () =>
      (await db.prisma.image.findMany({ where: { serverId }, orderBy: { ref: 'asc' } })).map((i) => ({
        ref: i.ref,
        version: i.version,
        channel: i.channel,
        sizeBytes: i.sizeBytes,
        builtAt: i.builtAt,
      }))
    const builtAt = new Date('2026-11-01T12:00:00.000Z')

    await recordImages(db.sql, serverId, [
      image(['mol:1.0.0', 'mol:latest'], 100, '1.0.0'),
      image(['mol:0.9.0'], 90),
      image([], 5),
    ])
    expect(await stored()).toEqual([
      { ref: 'mol:0.9.0', version: null, channel: null, sizeBytes: 90n, builtAt },
      { ref: 'mol:1.0.0', version: '1.0.0', channel: 'master', sizeBytes: 100n, builtAt },
      { ref: 'mol:latest', version: '1.0.0', channel: 'master', sizeBytes: 100n, builtAt },
    ])
    const firstIds = new Map((await db.prisma.image.findMany({ where: { serverId } })).map((i) => [i.ref, i.id]))

    // latest moved to 2.0.0 (a tag twice in one report counts once), 0.9.0 was pruned.
    await recordImages(db.sql, serverId, [
      image(['mol:2.0.0', 'mol:latest'], 200, '2.0.0'),
      image(['mol:1.0.0', 'mol:1.0.0'], 101, '1.0.0'),
    ])
    expect(await stored()).toEqual([
      { ref: 'mol:1.0.0', version: '1.0.0', channel: 'master', sizeBytes: 101n, builtAt },
      { ref: 'mol:2.0.0', version: '2.0.0', channel: 'master', sizeBytes: 200n, builtAt },
      { ref: 'mol:latest', version: '2.0.0', channel: 'master', sizeBytes: 200n, builtAt },
    ])
    const after = await db.prisma.image.findMany({ where: { serverId } })
    expect(after.find((i) => i.ref === 'mol:1.0.0')!.id).toBe(firstIds.get('mol:1.0.0'))

    await recordImages(db.sql, serverId, [])
    expect(await stored()).toEqual([])
  })

  it('lists servers with a total reused for its time to live, counted afresh after a local change or when filtered by online', async () => {
    let clock = 0
    const query = createServerListQuery({ sql: db.sql, totalTtlMs: 1_000, now: () => clock })
    const opts = { active: 'true' as const, page: { number: 1, size: 100 }, sort: [{ field: 'name', desc: false }] }
    const first = await query.list(opts)
    expect(first.total).toBe(first.rows.length)
    // Another replica adds a server: its total shows after the time to live, its row at once.
    await db.prisma.server.create({
      data: { name: 'raw-2', host: '10.0.0.2', baseDomain: 'raw.example.com', online: true },
    })
    const cached = await query.list(opts)
    expect(cached.rows).toHaveLength(first.total + 1)
    expect(cached.total).toBe(first.total)
    expect((await query.list({ ...opts, online: 'true' })).total).toBe(1)
    clock += 1_001
    expect((await query.list(opts)).total).toBe(first.total + 1)
    await db.prisma.server.create({ data: { name: 'raw-3', host: '10.0.0.3', baseDomain: 'raw.example.com' } })
    query.invalidate()
    expect((await query.list(opts)).total).toBe(first.total + 2)
    // Sorted and paged by the whitelisted columns only.
    const paged = await query.list({ ...opts, page: { number: 2, size: 1 }, sort: [{ field: 'name', desc: true }] })
    expect(paged.rows.map((r) => r.name)).toEqual(['raw-2'])
    await expect(query.list({ ...opts, sort: [{ field: 'name; DROP TABLE "Server"', desc: false }] })).rejects.toThrow(
      /cannot be sorted/,
    )
  })

  it('writes agent presence in batches, the latest state per server winning and keeping its hello', async () => {
    let now = new Date('2026-11-27T12:00:00.000Z')
    const presence = createPresenceWriter({ sql: db.sql, logger, now: () => now, flushMs: 60_000 })
    const [a, b] = await Promise.all(
      ['raw-p1', 'raw-p2'].map((name) =>
        db.prisma.server.create({ data: { name, host: '10.0.0.9', baseDomain: 'raw.example.com' } }),
      ),
    )
    presence.mark(a!.id, true, { agentVersion: '1.2.3', capabilities: ['server.info', 'image.list'] })
    presence.mark(b!.id, true, { agentVersion: '1.0.0', capabilities: [] })
    now = new Date('2026-11-27T12:00:01.000Z')
    presence.mark(b!.id, false)
    // Nothing is written before the flush.
    expect((await db.prisma.server.findUniqueOrThrow({ where: { id: a!.id } })).online).toBe(false)
    await presence.flush()
    expect(await db.prisma.server.findUniqueOrThrow({ where: { id: a!.id } })).toMatchObject({
      online: true,
      agentVersion: '1.2.3',
      capabilities: ['server.info', 'image.list'],
      lastSeenAt: new Date('2026-11-27T12:00:00.000Z'),
    })
    expect(await db.prisma.server.findUniqueOrThrow({ where: { id: b!.id } })).toMatchObject({
      online: false,
      agentVersion: '1.0.0',
      capabilities: [],
      lastSeenAt: new Date('2026-11-27T12:00:01.000Z'),
    })
    // An offline mark alone leaves the stored version; after stop, marks are ignored.
    presence.mark(a!.id, false)
    await presence.stop()
    presence.mark(a!.id, true)
    await presence.flush()
    expect(await db.prisma.server.findUniqueOrThrow({ where: { id: a!.id } })).toMatchObject({
      online: false,
      agentVersion: '1.2.3',
    })
  })

  it('authenticates an agent credential straight through the driver and records its use in a batch', async () => {
    const now = new Date('2026-11-27T13:00:00.000Z')
    const credentials = createAgentCredentials({ prisma: db.prisma, sql: db.sql, clock: { now: () => now }, logger })
    const server = await db.prisma.server.create({
      data: { name: 'raw-cred', host: '10.0.0.7', baseDomain: 'raw.example.com' },
    })
    const stored = await db.prisma.agentCredential.create({
      data: { serverId: server.id, secretHash: hashSecret('s3cret-credential-of-this-test-0001') },
    })
    expect(await credentials.authenticate('s3cret-credential-of-this-test-0001')).toBe(server.id)
    await expect(credentials.authenticate('another-credential-nobody-has-0002')).rejects.toMatchObject({
      reason: 'credential_unknown',
    })
    await credentials.stop()
    expect((await db.prisma.agentCredential.findUniqueOrThrow({ where: { id: stored.id } })).lastUsedAt).toEqual(now)
    await db.prisma.agentCredential.update({ where: { id: stored.id }, data: { revokedAt: now } })
    await expect(credentials.authenticate('s3cret-credential-of-this-test-0001')).rejects.toMatchObject({
      reason: 'credential_revoked',
    })
  })
})
