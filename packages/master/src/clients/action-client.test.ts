import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../db/open-database.ts'
import { readActionClient } from './action-client.ts'

// The driver's read of an action's client must give what the ORM gave (the actions build commands from it), on the
// real schema: PGlite with every migration applied.
let dir: string
let db: Database
let serverId: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'action-client-'))
  db = await openDatabase({ dataDir: dir, logger: pino({ level: 'silent' }) })
  serverId = (
    await db.prisma.server.create({
      data: { name: 's1', host: 'h', baseDomain: 'b.test', dbEngine: 'postgresql' },
    })
  ).id
}, 180_000)
afterAll(async () => {
  await db?.close()
  await rm(dir, { recursive: true, force: true })
})

const viaOrm = (id: string) =>
  db.prisma.client.findUnique({ where: { id }, include: { server: { select: { dbEngine: true } } } })

describe('readActionClient', () => {
  it('reads every field as the ORM does, the date column as UTC midnight and the server engine', async () => {
    const { id } = await db.prisma.client.create({
      data: {
        slug: 'full',
        name: 'Full',
        domain: 'full.b.test',
        serverId,
        status: 'active',
        image: 'alfa/app:1.2.0',
        version: '1.2.0',
        ownerLogin: 'owner',
        ownerEmail: 'o@e.test',
        ownerPasswordEnc: 'iv.tag.data',
        contactEmail: 'c@e.test',
        language: 'en',
        expireDate: new Date('2027-03-31T00:00:00Z'),
        maintenance: true,
        expiryBlocked: true,
        demo: true,
        turbostart: true,
        tutorial: false,
        memoryLimitMb: 512,
        cpuLimit: 1.5,
        available: true,
        availableCheckedAt: new Date('2026-12-01T10:11:12.345Z'),
        usersCount: 7,
        usersCountAt: new Date('2026-12-01T10:00:00.001Z'),
        copiedFromId: randomUUID(),
        remindersEnabled: false,
      },
    })
    const read = await readActionClient(db.sql, id)
    expect(read).toEqual(await viaOrm(id))
    expect(read?.expireDate?.toISOString()).toBe('2027-03-31T00:00:00.000Z')
    expect(read?.server).toEqual({ dbEngine: 'postgresql' })
  })

  it('reads nulls as nulls (a client with only the required fields)', async () => {
    const { id } = await db.prisma.client.create({
      data: { slug: 'bare', name: 'Bare', domain: 'bare.b.test', serverId, ownerLogin: 'o', ownerEmail: 'o@e.test' },
    })
    const read = await readActionClient(db.sql, id)
    expect(read).toEqual(await viaOrm(id))
    expect(read?.expireDate).toBeNull()
    expect(read?.status).toBe('creating')
  })

  it('is undefined for an id no client has', async () => {
    expect(await readActionClient(db.sql, randomUUID())).toBeUndefined()
  })
})
