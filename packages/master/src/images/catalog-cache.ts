import type { Logger } from 'pino'
import type { NotificationListener } from '../db/notifications.ts'
import type { ImageCatalog, ServerCatalog } from './image-catalog.ts'

/** The channel the catalog triggers notify on (migration 20261203234500_catalog_notify). */
export const CATALOG_CHANNEL = 'alfa_catalog'

const EMPTY: ServerCatalog = { record: new Map(), clientsOf: () => [] }

/**
 * Every server's image catalog (its Image rows and the clients using each ref) mirrored in memory, so an image list
 * answers without a database round trip: on a loaded machine that round trip, the wake-up of PostgreSQL and of the
 * master again, was most of what the control plane added to the agent's answer. Both tables are small (a few images
 * per server, one row per client), and are read whole once the notification feed listens.
 *
 * Coherent through the database's own triggers: every write to Image, and to the Client columns the catalog reads,
 * notifies the server's id, whoever made it (the ORM, a direct statement, psql), and that server's entry is marked
 * stale: its next list reads it again. Only while the feed is live is anything answered from memory; when it drops,
 * every entry goes and reads go to the database, and once it listens again everything is read anew.
 *
 * A read is kept only if no notification for its server (nor a reset) arrived while it ran (`version`): otherwise a
 * change committed after the read's snapshot and notified before it returned would be kept as if it had not
 * happened. What remains is the delivery delay itself: a change is seen once its notification arrives, a fraction of
 * a millisecond after its commit (PGlite delivers it before the writing statement returns).
 */
export function createCatalogCache(deps: {
  /** Where catalogs are read: one server's, or every server's at once (image-catalog.ts). */
  catalog: Pick<ImageCatalog, 'onServer' | 'everyServer'>
  logger: Logger
}) {
  let entries = new Map<string, ServerCatalog>()
  /** Servers changed since their entry was read: read again, even when the mirror is complete. */
  const stale = new Set<string>()
  /** Every server's catalog was read while live: a server with no entry, and not stale, has an empty catalog. */
  let complete = false
  let live = false
  /** Bumped by a reset or a TRUNCATE (everything), and per server by its notification. */
  let epoch = 0
  const versions = new Map<string, number>()
  const version = (serverId: string) => `${epoch}:${versions.get(serverId) ?? 0}`

  function forgetAll(isLive: boolean) {
    epoch++
    entries = new Map()
    stale.clear()
    versions.clear()
    complete = false
    live = isLive
    if (live) void readAll()
  }

  async function readAll() {
    const before = epoch
    const at = new Map(versions)
    try {
      const all = await deps.catalog.everyServer()
      if (!live || epoch !== before) return // reset meanwhile: the read that reset started takes over
      // Servers notified while it ran keep being stale: their rows may be older than the change.
      for (const [id, v] of versions) if (at.get(id) !== v) all.delete(id)
      for (const id of [...stale]) if (at.get(id) === versions.get(id)) stale.delete(id)
      entries = all
      complete = true
    } catch (err) {
      deps.logger.warn({ err }, 'could not read the image catalogs; reading them server by server')
    }
  }

  const listener: NotificationListener = {
    notify(payload) {
      if (payload === '*') return forgetAll(live)
      versions.set(payload, (versions.get(payload) ?? 0) + 1)
      entries.delete(payload)
      stale.add(payload)
    },
    reset: forgetAll,
  }

  return {
    /** What db/notifications.ts calls on the catalog channel. */
    listener,

    /** The server's catalog: from memory while the feed is live and nothing changed it, else read (and kept). */
    async get(serverId: string): Promise<ServerCatalog> {
      if (live) {
        const kept = entries.get(serverId)
        if (kept) return kept
        if (complete && !stale.has(serverId)) return EMPTY
      }
      const before = version(serverId)
      const catalog = await deps.catalog.onServer(serverId)
      if (live && version(serverId) === before) {
        entries.set(serverId, catalog)
        stale.delete(serverId)
      }
      return catalog
    },

    /** Whether every server's catalog is in memory (tests and benchmarks). */
    complete: () => live && complete,
  }
}

export type CatalogCache = ReturnType<typeof createCatalogCache>
