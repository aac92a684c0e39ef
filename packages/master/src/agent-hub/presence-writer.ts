import type { Logger } from 'pino'
import { createCoalescingWriter } from '../db/coalescing-writer.ts'
import type { Sql } from '../db/sql.ts'

interface Presence {
  online: boolean
  at: Date
  agentVersion?: string
  capabilities?: string[]
}

/**
 * Writes Server.online (with lastSeenAt, and the agent's version and capabilities from its hello) in batches. This
 * process answers "online" from its live connections; the column is for other replicas, filters and restarts, so
 * it may trail by `flushMs`. After a master restart 15,000 agents say hello within seconds: one UPDATE per batch
 * instead of one per agent keeps that reconnect storm from starving the API. The latest state per server wins.
 */
export function createPresenceWriter(deps: { sql: Sql; logger: Logger; now: () => Date; flushMs?: number }) {
  const writer = createCoalescingWriter<Presence>({
    flushMs: deps.flushMs ?? 100,
    logger: deps.logger,
    what: 'agent presence',
    retry: true,
    write: async (batch) => {
      const rows = [...batch].map(([id, p]) => ({
        id,
        online: p.online,
        at: p.at.toISOString(),
        agentVersion: p.agentVersion ?? null,
        capabilities: p.capabilities ?? null,
      }))
      await deps.sql.query(
        `UPDATE "Server" s SET online = v.online, "lastSeenAt" = v.at,
                "agentVersion" = COALESCE(v."agentVersion", s."agentVersion"), capabilities = COALESCE(v.capabilities, s.capabilities)
           FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, online boolean, at timestamp(3), "agentVersion" text, capabilities text[])
          WHERE s.id = v.id`,
        [JSON.stringify(rows)],
        'presence-write',
      )
    },
  })

  return {
    /** Queues the server's presence; a later call for the same server replaces it. */
    mark(serverId: string, online: boolean, hello?: { agentVersion: string; capabilities: string[] }): void {
      // An offline mark keeps the version and capabilities of a hello still waiting in the same batch.
      writer.update(serverId, (queued) => {
        const agentVersion = hello?.agentVersion ?? queued?.agentVersion
        const capabilities = hello?.capabilities ?? queued?.capabilities
        return { online, at: deps.now(), ...(agentVersion ? { agentVersion, capabilities: capabilities ?? [] } : {}) }
      })
    },
    flush: writer.flush,
    /** Writes what is queued and takes no more; the next start marks every server offline before any agent connects. */
    stop: writer.stop,
  }
}

export type PresenceWriter = ReturnType<typeof createPresenceWriter>
