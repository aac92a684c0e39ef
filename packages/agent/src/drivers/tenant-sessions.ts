import { createHash } from 'node:crypto'
import type mysql from 'mysql2/promise'

/**
 * How long a tenant's session stays open after its last use. A maintenance toggle writes cloud_settings twice within
 * seconds; a new connection as the tenant (handshake, authentication, session variables) cost about half of the
 * settings step, so the agent keeps it that long, and no longer: an idle login must not linger in the database.
 */
export const TENANT_SESSION_IDLE_MS = 10_000

/** Who a kept session is: the server, the database and the exact login (user and password) read for this call. */
export interface TenantSessionKey {
  server: string
  database: string
  user: string
  password: string
}

interface Kept {
  connection: mysql.Connection
  database: string
  busy: boolean
  idle: NodeJS.Timeout | undefined
}

/**
 * Short-lived tenant sessions kept between commands, one per database and login. Never shared across clients: the
 * key holds the login read from the client's container for this very call, so a client re-created under the same
 * slug (new password) never gets the previous one's session, and dropping a database ends its sessions first. A
 * session in use is not lent twice (a concurrent call opens its own, not kept); any error drops it.
 */
export interface TenantSessions {
  /**
   * Runs `work` on the kept session of `key`, or on a new one from `open` (then kept when `work` succeeds).
   * `fresh` tells `work` the session was just opened. A failed `work` ends the session it ran on.
   */
  use<T>(
    key: TenantSessionKey,
    open: () => Promise<mysql.Connection>,
    work: (c: mysql.Connection, fresh: boolean) => Promise<T>,
  ): Promise<T>
  /** Ends the kept sessions of `database` (before it is dropped or replaced). */
  forget(database: string): Promise<void>
  /** Ends every kept session (agent stop). */
  close(): Promise<void>
}

const end = (c: mysql.Connection) => c.end().catch(() => c.destroy())

export function createTenantSessions(o: { idleMs?: number } = {}): TenantSessions {
  const idleMs = o.idleMs ?? TENANT_SESSION_IDLE_MS
  const kept = new Map<string, Kept>()
  // The password only as a digest: the map's keys must never carry a secret into a dump or a log.
  const keyOf = (k: TenantSessionKey) =>
    createHash('sha256')
      .update(JSON.stringify([k.server, k.database, k.user, k.password]))
      .digest('hex')

  function drop(id: string, entry: Kept) {
    clearTimeout(entry.idle)
    if (kept.get(id) === entry) kept.delete(id)
  }

  return {
    async use<T>(
      key: TenantSessionKey,
      open: () => Promise<mysql.Connection>,
      work: (c: mysql.Connection, fresh: boolean) => Promise<T>,
    ): Promise<T> {
      const id = keyOf(key)
      const found = kept.get(id)
      if (found && !found.busy) {
        found.busy = true
        clearTimeout(found.idle)
        try {
          const value = await work(found.connection, false)
          found.busy = false
          found.idle = setTimeout(() => (drop(id, found), void end(found.connection)), idleMs).unref()
          return value
        } catch (error) {
          // A session that failed once (timeout, killed, lost) is never reused.
          drop(id, found)
          found.connection.destroy()
          throw error
        }
      }
      const connection = await open()
      let value: T
      try {
        value = await work(connection, true)
      } catch (error) {
        connection.destroy()
        throw error
      }
      if (kept.has(id)) {
        // Another call keeps a session for this login already: one is enough.
        await end(connection)
        return value
      }
      const entry: Kept = { connection, database: key.database, busy: false, idle: undefined }
      entry.idle = setTimeout(() => (drop(id, entry), void end(connection)), idleMs).unref()
      kept.set(id, entry)
      // A session the server closes (wait_timeout, a kill) leaves the map at once.
      connection.on('error', () => drop(id, entry))
      connection.on('end', () => drop(id, entry))
      return value
    },

    async forget(database) {
      const ended: Promise<unknown>[] = []
      for (const [id, entry] of kept) {
        if (entry.database !== database) continue
        drop(id, entry)
        ended.push(end(entry.connection))
      }
      await Promise.all(ended)
    },

    async close() {
      const all = [...kept.entries()]
      for (const [id, entry] of all) drop(id, entry)
      await Promise.all(all.map(([, entry]) => end(entry.connection)))
    },
  }
}
