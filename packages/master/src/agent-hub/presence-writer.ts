import type { Logger } from 'pino'
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
  const flushMs = deps.flushMs ?? 100
  let pending = new Map<string, Presence>()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> = Promise.resolve()
  let stopped = false

  async function write(batch: Map<string, Presence>) {
    if (batch.size === 0) return
    const rows = [...batch].map(([id, p]) => ({ id, online: p.online, at: p.at.toISOString(), agentVersion: p.agentVersion ?? null, capabilities: p.capabilities ?? null }))
    try {
      await deps.sql.query(
        `UPDATE "Server" s SET online = v.online, "lastSeenAt" = v.at,
                "agentVersion" = COALESCE(v."agentVersion", s."agentVersion"), capabilities = COALESCE(v.capabilities, s.capabilities)
           FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, online boolean, at timestamp(3), "agentVersion" text, capabilities text[])
          WHERE s.id = v.id`,
        [JSON.stringify(rows)],
        'presence-write',
      )
    } catch (err) {
      deps.logger.error({ err, servers: batch.size }, 'could not record agent presence; retrying with the next batch')
      // Put back what no newer state replaced meanwhile.
      for (const [id, p] of batch) if (!pending.has(id)) pending.set(id, p)
      schedule()
    }
  }

  function schedule() {
    if (timer) return
    timer = setTimeout(() => void flush(), flushMs)
    timer.unref()
  }

  /** Writes what is queued; resolves once it (and every earlier batch) is stored. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = new Map()
    writing = writing.then(() => write(batch))
    return writing
  }

  return {
    /** Queues the server's presence; a later call for the same server replaces it. */
    mark(serverId: string, online: boolean, hello?: { agentVersion: string; capabilities: string[] }): void {
      if (stopped) return
      // An offline mark keeps the version and capabilities of a hello still waiting in the same batch.
      const before = pending.get(serverId)
      const agent = hello ?? (before?.agentVersion ? { agentVersion: before.agentVersion, capabilities: before.capabilities ?? [] } : undefined)
      pending.set(serverId, { online, at: deps.now(), ...(agent ? { agentVersion: agent.agentVersion, capabilities: agent.capabilities } : {}) })
      schedule()
    },
    flush,

    /**
     * Writes what is queued and takes no more: sockets closing at shutdown would mark their servers offline after
     * the database is gone. The next start marks every server offline before any agent connects.
     */
    async stop(): Promise<void> {
      stopped = true
      await flush()
    },
  }
}

export type PresenceWriter = ReturnType<typeof createPresenceWriter>
