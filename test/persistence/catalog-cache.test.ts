// The image catalog kept in memory for GET /servers/{id}/images stays what the database holds: the triggers of
// migration 20261203234500_catalog_notify name the server whose Image rows or catalog columns of Client changed,
// whoever wrote them, and the cache drops it. On both databases; on PostgreSQL also across a lost notification
// connection (nothing is answered from memory until it listens again).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../packages/master/src/db/open-database.ts'
import { CATALOG_CHANNEL, createCatalogCache } from '../../packages/master/src/images/catalog-cache.ts'
import { createImageCatalog } from '../../packages/master/src/images/image-catalog.ts'
import { createLogger } from '../../packages/master/src/logger.ts'
import { backends } from '../support/backends.ts'
import { createDatabaseFixture, type DatabaseFixture } from '../support/database-fixture.ts'
import { waitUntil } from '../support/process.ts'

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(backends())('the catalog cache, on $name', (backend) => {
  let fixture: DatabaseFixture
  let db: Database
  let reads: string[]
  let cache: ReturnType<typeof createCatalogCache>
  let one: string
  let two: string
  beforeAll(async () => {
    fixture = await createDatabaseFixture(backend)
    db = await fixture.open()
    const catalog = createImageCatalog({ prisma: db.prisma, sql: db.sql })
    reads = []
    cache = createCatalogCache({
      catalog: {
        onServer(serverId) {
          reads.push(serverId)
          return catalog.onServer(serverId)
        },
        everyServer() {
          reads.push('*')
          return catalog.everyServer()
        },
      },
      logger: createLogger({ level: 'silent' }),
    })
    const server = (name: string) =>
      db.prisma.server.create({ data: { name, host: '10.0.0.9', baseDomain: `${name}.example` } })
    one = (await server('cat-one')).id
    two = (await server('cat-two')).id
    await db.prisma.image.create({ data: { serverId: two, ref: 'mol:0', gitCommit: 'b'.repeat(40) } })
    await db.notifications.listen(CATALOG_CHANNEL, cache.listener)
    await waitUntil(() => cache.complete(), { timeoutMs: 5_000, what: 'every catalog read' })
  })
  afterAll(async () => {
    await db?.close()
    await fixture?.dispose()
  })

  /** The next read of `server` comes from memory (true) or from the database (false). */
  const cached = async (server: string) => {
    const before = reads.length
    const catalog = await cache.get(server)
    return { hit: reads.length === before, catalog }
  }
  /** A change is seen once its notification arrives: PGlite delivers it with the write, PostgreSQL just after. */
  let step = 0
  const dropped = (server: string) =>
    waitUntil(async () => !(await cached(server)).hit, {
      timeoutMs: 5_000,
      what: `the catalog of ${server === one ? 'one' : 'two'} dropped (step ${++step})`,
    })

  it('does answer from memory until the catalog of that server changes, whoever changes it', async () => {
    // Every catalog was read once the feed listened: a server with nothing is known to have nothing.
    expect(reads).toContain('*')
    expect(await cached(one)).toMatchObject({ hit: true })
    expect((await cached(one)).catalog.record.size).toBe(0)
    expect((await cached(two)).catalog.record.get('mol:0')).toMatchObject({ gitCommit: 'b'.repeat(40) })
    expect((await cached(two)).hit).toBe(true)

    // An image recorded through the ORM: dropped, and the next read shows it.
    await db.prisma.image.create({ data: { serverId: one, ref: 'mol:1', gitCommit: 'a'.repeat(40) } })
    await dropped(one)
    expect((await cached(one)).catalog.record.get('mol:1')).toMatchObject({ gitCommit: 'a'.repeat(40) })
    expect((await cached(two)).hit).toBe(true) // another server's entry stays

    // A client starting to use the image, written by a plain statement.
    const client = await db.prisma.client.create({
      data: {
        slug: 'cat-user',
        name: 'User',
        domain: 'cat-user.example.com',
        serverId: one,
        status: 'active',
        ownerLogin: 'owner',
        ownerEmail: 'o@example.com',
      },
    })
    await dropped(one)
    await db.sql.query(`UPDATE "Client" SET image = 'mol:1' WHERE id = $1::uuid`, [client.id])
    await dropped(one)
    expect((await cached(one)).catalog.clientsOf('mol:1')).toEqual([client.id])

    // A column the catalog does not read changes nothing.
    await db.sql.query(`UPDATE "Client" SET name = 'Renamed' WHERE id = $1::uuid`, [client.id])
    await pause(200) // time for a notification that should not come
    expect((await cached(one)).hit).toBe(true)

    // The client moves to the other server: both drop.
    expect((await cached(two)).hit).toBe(true)
    await db.sql.query(`UPDATE "Client" SET "serverId" = $2::uuid WHERE id = $1::uuid`, [client.id, two])
    await dropped(one)
    await dropped(two)
    expect((await cached(two)).catalog.clientsOf('mol:1')).toEqual([client.id])
    expect((await cached(one)).catalog.clientsOf('mol:1')).toEqual([])

    // A rolled-back change notifies nothing.
    await db.sql
      .transaction(async (tx) => {
        await tx.query(`DELETE FROM "Image" WHERE "serverId" = $1::uuid`, [one])
        throw new Error('rolled back')
      })
      .catch(() => undefined)
    await pause(200)
    expect((await cached(one)).hit).toBe(true)

    // Deleting an image, and a TRUNCATE (no row triggers fire for it: a statement trigger clears everything).
    await db.sql.query(`DELETE FROM "Image" WHERE "serverId" = $1::uuid`, [one])
    await dropped(one)
    expect((await cached(one)).catalog.record.size).toBe(0)
    expect((await cached(two)).hit).toBe(true)
    expect((await cached(two)).catalog.record.has('mol:0')).toBe(true)
    const everyRead = reads.filter((r) => r === '*').length
    await db.sql.query(`TRUNCATE "Image"`)
    // Everything is read again (maybe before the statement returns here): two's image is gone, its client stays.
    await waitUntil(async () => !(await cached(two)).catalog.record.has('mol:0'), {
      timeoutMs: 5_000,
      what: 'the catalogs read again after a TRUNCATE',
    })
    expect((await cached(two)).catalog.clientsOf('mol:1')).toEqual([client.id])
    await waitUntil(() => cache.complete(), { timeoutMs: 5_000, what: 'every catalog read again' })
    expect(reads.filter((r) => r === '*').length).toBe(everyRead + 1)
  })

  it.runIf(backend.name === 'postgres')(
    'does answer nothing from memory while its connection is lost, and again once it listens anew',
    async () => {
      await cache.get(one)
      expect((await cached(one)).hit).toBe(true)
      await db.sql.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
      )
      await dropped(one)
      // Reads go to the database: a change made now cannot be missed by a notification that never comes.
      expect((await cached(one)).hit).toBe(false)
      await waitUntil(async () => (await cached(one)).hit, { timeoutMs: 10_000, what: 'the feed listening again' })
      await db.prisma.image.create({ data: { serverId: one, ref: 'mol:after' } })
      await dropped(one)
      expect((await cached(one)).catalog.record.has('mol:after')).toBe(true)
    },
  )
})
