import { AGENT_CLOSE } from '@alfa/protocol'

/** The minimum the registry needs of a connection. */
export interface RegisteredConnection {
  serverId: string
  close(code: number, reason: string): void
}

/**
 * The one registry of live agent connections (Nomad's node-connection registry): add, remove, get. One connection
 * per server and the latest wins: a new connection for a server closes the one it replaces.
 */
export function createAgentRegistry<C extends RegisteredConnection>() {
  const byServer = new Map<string, C>()
  return {
    /** Registers the connection; returns the one it replaced (already closed) if any. */
    add(conn: C): C | undefined {
      const previous = byServer.get(conn.serverId)
      byServer.set(conn.serverId, conn)
      if (previous && previous !== conn) previous.close(AGENT_CLOSE.replaced, 'replaced by a newer connection')
      return previous !== conn ? previous : undefined
    },
    /** Removes the connection only if it is still the current one for its server (a replaced one must not evict its successor). */
    remove(conn: C): boolean {
      if (byServer.get(conn.serverId) !== conn) return false
      byServer.delete(conn.serverId)
      return true
    },
    get(serverId: string): C | undefined {
      return byServer.get(serverId)
    },
    get size() {
      return byServer.size
    },
    all(): IterableIterator<C> {
      return byServer.values()
    },
  }
}

export type AgentRegistry<C extends RegisteredConnection> = ReturnType<typeof createAgentRegistry<C>>
