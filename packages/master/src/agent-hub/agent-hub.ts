import type { Server as HttpServer } from 'node:http'
import { AGENT_CLOSE, canRun, type CommandType } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { AgentOffline, Conflict } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import type { MetricsStore } from '../metrics/metrics-store.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { AgentConnection } from './agent-connection.ts'
import { createAnnouncements, type Announcement } from './announcements.ts'
import type { AgentCredentials } from './agent-credentials.ts'
import { createHandshake } from './agent-handshake.ts'
import { createAgentRegistry } from './agent-registry.ts'
import { createAgentRequests } from './agent-requests.ts'
import { openAgentSocket } from './agent-socket.ts'
import { createCommandDispatch } from './command-dispatch.ts'
import { createCommandTracker, type OperationCompletions } from './command-tracker.ts'
import { createFrameRouter } from './frame-router.ts'
import { startHeartbeat } from './heartbeat.ts'
import { createPresenceWriter } from './presence-writer.ts'
import { createReconciliation } from './reconciliation.ts'
import { createUpgradeAuth } from './upgrade-auth.ts'
import { createUpgradeThrottle, type UpgradeThrottleOptions } from './upgrade-throttle.ts'

export interface AgentHubOptions {
  /** Ping interval; a peer silent for two intervals is terminated. */
  heartbeatMs?: number
  /** How long operations wait for their agent to come back (after a master restart or a lost agent) before they end interrupted. */
  graceMs?: number
  /** Slack on top of a command's own deadline before the master gives up on it. */
  deadlineSlackMs?: number
  /** How long a new socket may take to send hello. */
  helloTimeoutMs?: number
  /**
   * Most agent sockets this process holds: past it upgrades get 503, so file descriptors stay free for the API and
   * the database (a process may hold 20,000 files here).
   */
  maxAgents?: number
  /** Throttling of failed upgrades per address (upgrade-throttle.ts). */
  upgradeThrottle?: UpgradeThrottleOptions
}

export interface AgentHubDeps extends AgentHubOptions {
  prisma: PrismaClient
  sql: Sql
  logger: Logger
  clock: Clock
  operations: OperationService
  credentials: AgentCredentials
  metrics: MetricsStore
  /** What runs once an operation ended (the kind's handler, the parent's next step). */
  completions: OperationCompletions
  /** Seals secret payload fields in the stored copy of each command. */
  secretBox: SecretBox
  /** Parent operations: resumed at start. */
  parents: { resumeAll(): Promise<void> }
  /** Whatever waits for a server's agent (parents, an update's pending settings), told once its hello was answered. */
  agentOnline(serverId: string): void
}

/**
 * The agent hub owns every agent socket: it authenticates upgrades on /agent, holds one connection per server (latest
 * wins), delivers the commands of operations, stores what comes back, and makes sure each operation ends. Nothing
 * else in the master touches a socket. Each job is its own module; this file only wires them.
 */
export function createAgentHub(deps: AgentHubDeps) {
  const { clock, operations } = deps
  const log = deps.logger.child({ component: 'agent-hub' })
  const heartbeatMs = deps.heartbeatMs ?? 15_000
  const graceMs = deps.graceMs ?? 60_000
  const registry = createAgentRegistry<AgentConnection>()
  const sockets = new Set<AgentConnection>()
  /** What each server's agent announced in its last hello here, shared among agents announcing the same. */
  const announced = new Map<string, Announcement>()
  const announcements = createAnnouncements()
  const presence = createPresenceWriter({ sql: deps.sql, logger: log, now: () => clock.now() })
  const tracker = createCommandTracker({ ...deps, operations, logger: log })
  const connection = (serverId: string) => registry.get(serverId)
  const isOnline = (serverId: string) => registry.get(serverId)?.ready === true

  /** Throws AgentOffline unless the server's agent is connected now (checked before an operation is created). */
  function assertOnline(serverId: string, type?: CommandType): void {
    if (!isOnline(serverId)) throw new AgentOffline(serverId)
    if (type && !canRun(announced.get(serverId)?.capabilities ?? [], type))
      throw new Conflict(`the agent of server ${serverId} cannot run ${type}; upgrade it`, 'agent_unsupported')
  }

  const reconciliation = createReconciliation({
    prisma: deps.prisma,
    clock,
    logger: log,
    tracker,
    graceMs,
    sweepEveryMs: Math.min(5_000, heartbeatMs),
    isOnline,
    resumeParents: () => deps.parents.resumeAll(),
  })
  const dispatch = createCommandDispatch({
    sql: deps.sql,
    clock,
    logger: log,
    secretBox: deps.secretBox,
    tracker,
    operations,
    connection,
    assertOnline,
    onUndelivered: reconciliation.undelivered,
    slackMs: deps.deadlineSlackMs ?? 30_000,
  })
  const requests = createAgentRequests({ connection, assertOnline })
  const onFrame = createFrameRouter({
    metrics: deps.metrics,
    tracker,
    requests,
    onHello: createHandshake({
      heartbeatMs,
      accept(conn, hello) {
        announced.set(conn.serverId, announcements.intern(hello))
        registry.add(conn)
        presence.mark(conn.serverId, true, hello)
      },
      async resendPending(conn, hello) {
        await dispatch.resendPending(conn, hello)
        deps.agentOnline(conn.serverId)
      },
    }),
  })
  const upgrades = createUpgradeAuth({
    credentials: deps.credentials,
    throttle: createUpgradeThrottle({ clock, logger: log, options: deps.upgradeThrottle }),
    logger: log,
    maxAgents: deps.maxAgents ?? 19_000,
    held: () => sockets.size,
    onConnection(ws, serverId, address) {
      const conn = openAgentSocket({
        ws,
        serverId,
        logger: log,
        address,
        helloTimeoutMs: deps.helloTimeoutMs ?? 10_000,
        metrics: deps.metrics,
        onFrame,
        onClose(closed, code, reason, settled) {
          sockets.delete(closed)
          requests.closed(closed)
          if (!registry.remove(closed)) return
          closed.logger.info({ code, reason }, 'agent offline')
          // Unless the agent came back on a new connection while this one's frames were still being handled.
          void settled.then(() => {
            if (!isOnline(serverId)) presence.mark(serverId, false)
          })
          reconciliation.lostAgent(serverId)
        },
      })
      sockets.add(conn)
    },
  })
  const stopHeartbeat = startHeartbeat(sockets, heartbeatMs)

  return {
    attach: (server: HttpServer) => upgrades.attach(server),

    /** Closes the server's live connection (after its credential was revoked). */
    disconnect(serverId: string, reason: string): void {
      registry.get(serverId)?.close(AGENT_CLOSE.forbiddenServer, reason)
    },

    isOnline,

    /** The version the server's agent announced in its last hello here (the stored one may trail it briefly). */
    agentVersion(serverId: string): string | undefined {
      return announced.get(serverId)?.agentVersion
    },

    assertOnline,

    /** True when the server's agent announced `capability` in its last hello here (e.g. TRANSFER_ZSTD). */
    announces(serverId: string, capability: string): boolean {
      return announced.get(serverId)?.capabilities.includes(capability) ?? false
    },

    /** The first capability starting with `prefix` the server's agent announced (one that carries a value). */
    announcedWith(serverId: string, prefix: string): string | undefined {
      return announced.get(serverId)?.capabilities.find((c) => c.startsWith(prefix))
    },

    /** What `begin` hands stored commands to. */
    courier: dispatch.courier,

    /** Sends a read-only command that is not an operation (health probes, user counts). */
    request: requests.request,

    /** Waits up to `ms` for an operation's outcome; undefined when it is still running. */
    waitFor: tracker.waitFor,

    /** Ends an operation as the master's own decision (a parent whose plan is done, a cancelled one). */
    settle: tracker.settle,

    /** At master start: see reconciliation.atStart. */
    reconcileAtStart: reconciliation.atStart,

    /** Closes every agent socket and stops the timers (agents reconnect to whoever serves next). */
    async close(): Promise<void> {
      stopHeartbeat()
      reconciliation.stop()
      for (const conn of sockets) conn.close(1001, 'master shutting down')
      await upgrades.close()
      await Promise.all([tracker.stop(), presence.stop()])
    },
  }
}

export type AgentHub = ReturnType<typeof createAgentHub>
