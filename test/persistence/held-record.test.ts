// A read-only query's row is written once, when it ends, by one statement built from the held state
// (operation-record.ts, image-list-end.ts). These hold that statement to the ORM's shape on both databases: the row
// read back through Prisma equals the one returned, times stay UTC (PGlite in a far time zone), lines are numbered,
// and an image list's end records the images and reads the catalog as it stood.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import type { ImageSummary } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeldQueries } from '../../packages/master/src/agent-hub/held-queries.ts'
import type { Database } from '../../packages/master/src/db/open-database.ts'
import { unrecordedOperation } from '../../packages/master/src/operations/operation-insert.ts'
import { recordOperation } from '../../packages/master/src/operations/operation-record.ts'
import { createImageCatalog } from '../../packages/master/src/images/image-catalog.ts'
import { createLogger } from '../../packages/master/src/logger.ts'
import { createImageListRecords } from '../../packages/master/src/servers/image-list-records.ts'
import { backends } from '../support/backends.ts'
import { createDatabaseFixture, type DatabaseFixture } from '../support/database-fixture.ts'
import { makeTempDir } from '../support/process.ts'

describe.each(backends())('a held query recorded when it ends, on $name', (backend) => {
  let fixture: DatabaseFixture
  let db: Database
  let serverId: string
  let journalDir: string
  const logger = createLogger({ level: 'silent' })
  beforeAll(async () => {
    journalDir = await makeTempDir('held-journal')
    fixture = await createDatabaseFixture(backend)
    db = await fixture.open()
    // PGlite is one session: a zone far from UTC shows a timestamp read through it.
    if (db.kind !== 'postgres') await db.prisma.$executeRawUnsafe(`SET TIME ZONE 'Pacific/Kiritimati'`)
    serverId = (await db.prisma.server.create({ data: { name: 'held-1', host: '10.0.0.1', baseDomain: 'h.example' } }))
      .id
  })
  afterAll(async () => {
    await db?.close()
    await fixture?.dispose()
    await fs.rm(journalDir, { recursive: true, force: true })
  })

  const started = new Date('2026-12-01T08:00:00.123Z')
  const held = createHeldQueries(() => new Date('2026-12-01T08:00:01.456Z'))
  const hold = (on = serverId) => {
    const op = unrecordedOperation({
      kind: 'server.images',
      status: 'running',
      serverId: on,
      clientId: null,
      requestedBy: 'admin',
      steps: [],
      commandId: randomUUID(),
      command: { type: 'image.list', payload: {} },
      startedAt: started,
      deadlineAt: new Date(started.getTime() + 90_000),
    })
    return { op, query: held.hold(op, []) }
  }

  it('writes the row as the ORM reads it, with its ack, outcome and numbered lines', async () => {
    const { op, query } = hold()
    held.acked(op.id)
    held.log(op.id, [{ message: 'first' }, { level: 'error', message: 'INTERNAL: docker is down' }])
    held.end(op.id, { status: 'failed', error: { code: 'INTERNAL', message: 'docker is down' } })
    const record = (await query.wait(0))!
    const row = await recordOperation(db.sql, record)
    expect(row).toEqual(await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } }))
    expect(row).toMatchObject({
      status: 'failed',
      error: { code: 'INTERNAL', message: 'docker is down' },
      result: null,
      logSeq: 2,
      startedAt: started,
      createdAt: started,
      ackedAt: new Date('2026-12-01T08:00:01.456Z'),
      finishedAt: new Date('2026-12-01T08:00:01.456Z'),
    })
    const lines = await db.prisma.operationLog.findMany({ where: { operationId: op.id }, orderBy: { seq: 'asc' } })
    expect(lines.map((l) => [l.seq, l.level, l.message])).toEqual([
      [1, 'info', 'first'],
      [2, 'error', 'INTERNAL: docker is down'],
    ])
    // Ended once: the held state is gone, a second ending takes the ordinary path.
    expect(held.end(op.id, { status: 'succeeded' })).toBe(false)
  })

  it("records an image list's end behind its answer: the row, its lines and the images; the catalog apart", async () => {
    await db.prisma.image.create({
      data: { serverId, ref: 'mol:1.0.0', gitCommit: 'c'.repeat(40), branch: 'master', sizeBytes: 1n },
    })
    await db.prisma.image.create({ data: { serverId, ref: 'mol:0.1.0', createdAt: new Date('2026-11-30T00:00:00Z') } })
    const client = await db.prisma.client.create({
      data: {
        slug: 'held-user',
        name: 'User',
        domain: 'held-user.example.com',
        serverId,
        status: 'active',
        image: 'mol:1.0.0',
        ownerLogin: 'owner',
        ownerEmail: 'o@example.com',
      },
    })
    const images: ImageSummary[] = ['mol:1.0.0', 'mol:2.0.0'].map((ref) => ({
      ref,
      id: `sha256:${'d'.repeat(64)}`,
      tags: [ref],
      sizeBytes: 5,
      createdAt: Date.parse('2026-11-01T12:00:00.000Z'),
      labels: {},
    }))
    const { op, query } = hold()
    held.end(op.id, { status: 'succeeded', result: { images } })
    const catalog = await createImageCatalog({ prisma: db.prisma, sql: db.sql }).onServer(serverId)
    const records = createImageListRecords({ sql: db.sql, logger, dir: journalDir, flushMs: 60_000 })
    records.add({ record: (await query.wait(0))!, serverId, images })
    expect(await db.prisma.operation.findUnique({ where: { id: op.id } })).toBeNull() // journaled, not yet written
    await records.settle(op.id)
    expect(catalog.record.get('mol:1.0.0')).toMatchObject({ gitCommit: 'c'.repeat(40), branch: 'master' })
    expect(catalog.clientsOf('mol:1.0.0')).toEqual([client.id])
    expect(catalog.clientsOf('mol:2.0.0')).toEqual([])
    const stored = await db.prisma.image.findMany({ where: { serverId }, orderBy: { ref: 'asc' } })
    expect(stored.map((i) => [i.ref, i.sizeBytes, i.gitCommit])).toEqual([
      ['mol:1.0.0', 5n, 'c'.repeat(40)],
      ['mol:2.0.0', 5n, null],
    ])
    expect(await db.prisma.operation.findUniqueOrThrow({ where: { id: op.id } })).toMatchObject({
      status: 'succeeded',
      result: { images },
    })
  })

  it('writes the ends of several servers together: the last list of a server wins, a bad end fails alone', async () => {
    const ids = await Promise.all(
      ['held-g1', 'held-g2', 'held-g3'].map(
        async (name, i) =>
          (await db.prisma.server.create({ data: { name, host: `10.0.1.${i}`, baseDomain: `${name}.example` } })).id,
      ),
    )
    const [one, two, gone] = ids as [string, string, string]
    await db.prisma.image.create({ data: { serverId: two, ref: 'app:2', gitCommit: 'e'.repeat(40) } })
    await db.prisma.image.create({
      data: { serverId: two, ref: 'app:old', createdAt: new Date('2026-11-30T00:00:00Z') },
    })
    const image = (ref: string): ImageSummary => ({
      ref,
      id: `sha256:${'f'.repeat(64)}`,
      tags: [ref],
      sizeBytes: 7,
      createdAt: Date.parse('2026-11-02T12:00:00.000Z'),
      labels: {},
    })
    const ended = async (on: string, images: ImageSummary[]) => {
      const { op, query } = hold(on)
      held.log(op.id, [{ message: `listed ${on}` }])
      held.end(op.id, { status: 'succeeded', result: { images } })
      return { id: op.id, end: { record: (await query.wait(0))!, serverId: on, images } }
    }
    const ends = [
      await ended(one, [image('app:1')]),
      await ended(two, [image('app:2')]),
      await ended(one, [image('app:1'), image('app:1b')]), // the same server again: this list is what it holds
      await ended(gone, [image('app:9')]),
    ]
    // A build that ended after the lists were asked for (held at 08:00): its image is not theirs to delete.
    await db.prisma.image.create({ data: { serverId: two, ref: 'app:built', createdAt: new Date() } })
    // A server deleted before its list is written: its end fails (the operation's server is gone), alone.
    await db.prisma.server.delete({ where: { id: gone } })
    // A master that journaled them and died: the next one writes them at start, and again is harmless.
    const dead = createImageListRecords({ sql: db.sql, logger, dir: journalDir, flushMs: 60_000 })
    ends.forEach((e) => dead.add(e.end))
    const next = createImageListRecords({ sql: db.sql, logger, dir: journalDir, flushMs: 60_000 })
    expect(await next.replay()).toBe(4)
    expect(await fs.readdir(journalDir)).toEqual([])
    const twice = createImageListRecords({ sql: db.sql, logger, dir: journalDir, flushMs: 60_000 })
    ends.forEach((e) => twice.add(e.end))
    await twice.stop()
    const stored = await db.prisma.image.findMany({ where: { serverId: { in: [one, two] } }, orderBy: { ref: 'asc' } })
    expect(stored.map((i) => [i.serverId === one ? 'one' : 'two', i.ref, i.gitCommit])).toEqual([
      ['one', 'app:1', null],
      ['one', 'app:1b', null],
      ['two', 'app:2', 'e'.repeat(40)],
      ['two', 'app:built', null],
    ])
    const rows = await db.prisma.operation.findMany({
      where: { id: { in: ends.map((e) => e.id) } },
      include: { logs: true },
    })
    expect(rows.map((r) => [r.serverId, r.status, r.logs.map((l) => l.message)]).sort()).toEqual(
      [
        [one, 'succeeded', [`listed ${one}`]],
        [one, 'succeeded', [`listed ${one}`]],
        [two, 'succeeded', [`listed ${two}`]],
      ].sort(),
    )
  })
})
