import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  canRun,
  commandFrame,
  MAX_FRAME_BYTES,
  parseAgentFrame,
  parseCommandResult,
  PROTOCOL_VERSION,
  wireError,
  type AgentFrame,
  type Command,
  type HelloFrame,
  type ResultFrame,
} from '@alfa/protocol'
import type { Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Clock } from '../clock.ts'
import { AgentOffline, Conflict } from '../errors.ts'
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import type { MetricsStore } from '../metrics/metrics-store.ts'
import type { OperationService } from '../operations/operation-service.ts'
import { AgentConnection } from './agent-connection.ts'
import { AgentAuthRefused, type AgentCredentials } from './agent-credentials.ts'
import { createAgentRegistry } from './agent-registry.ts'
import { createPresenceWriter } from './presence-writer.ts'
import type { OperationCompletions } from './operation-completions.ts'
import { createCommandTracker, type CommandOutcome } from './command-tracker.ts'
import { openCommand, sealCommand } from './command-secrets.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
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
  completions: OperationCompletions
  /** Seals secret payload fields in the stored copy of each command. */
  secretBox: SecretBox
}

/**
 * The agent hub owns every agent socket: it authenticates upgrades on /agent, holds one connection per server (latest
 * wins), dispatches commands for operations, stores what comes back, and makes sure each operation ends. Nothing
 * else in the master touches a socket.
 */
export function createAgentHub(deps: AgentHubDeps) {
  const { prisma, clock, operations, credentials, metrics } = deps
  const log = deps.logger.child({ component: 'agent-hub' })
  const heartbeatMs = deps.heartbeatMs ?? 15_000
  const graceMs = deps.graceMs ?? 60_000
  const slackMs = deps.deadlineSlackMs ?? 30_000
  const helloTimeoutMs = deps.helloTimeoutMs ?? 10_000
  const maxAgents = deps.maxAgents ?? 19_000
  const upgradeThrottle = createUpgradeThrottle({ clock, logger: log, options: deps.upgradeThrottle })
  const registry = createAgentRegistry<AgentConnection>()
  const sockets = new Set<AgentConnection>()
  /** What each server's agent announced in its last hello here. */
  const announced = new Map<string, Pick<HelloFrame, 'agentVersion' | 'capabilities'>>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })
  const tracker = createCommandTracker({
    prisma,
    sql: deps.sql,
    operations,
    completions: deps.completions,
    logger: log,
  })
  const timers = new Set<NodeJS.Timeout>()
  /** Read-only requests (probes, counts) that are not operations: answered in memory, forgotten on restart. */
  const requests = new Map<
    string,
    { serverId: string; type: Command['type']; resolve: (o: CommandOutcome) => void; timer: NodeJS.Timeout }
  >()

  function later(ms: number, fn: () => Promise<void>) {
    const t = setTimeout(() => {
      timers.delete(t)
      fn().catch((err: unknown) => log.error({ err }, 'scheduled hub task failed'))
    }, ms)
    t.unref()
    timers.add(t)
  }

  const presence = createPresenceWriter({ sql: deps.sql, logger: log, now: () => clock.now() })

  /** Ends, as interrupted, the server's running operations if its agent is still not back after the grace period. */
  function interruptIfStillGone(serverId: string, reason: string) {
    later(graceMs, async () => {
      if (registry.get(serverId)?.ready) return
      const stuck = await prisma.operation.findMany({
        where: { serverId, status: { in: ['queued', 'running'] } },
        select: { id: true },
      })
      for (const op of stuck) {
        await operations.log(op.id, [{ level: 'error', message: reason }])
        await tracker.settle(op.id, { status: 'interrupted', error: { code: 'INTERRUPTED', message: reason } })
      }
    })
  }

  async function onHello(conn: AgentConnection, hello: HelloFrame) {
    if (hello.serverId !== conn.serverId) {
      conn.logger.warn(
        { claimed: hello.serverId },
        'agent refused: hello names another server than its credential proves',
      )
      conn.send({ kind: 'error', error: wireError('FORBIDDEN_SERVER', 'this connection speaks for another server') })
      return conn.close(4003, 'forbidden server')
    }
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      conn.logger.warn({ theirs: hello.protocolVersion, ours: PROTOCOL_VERSION }, 'agent refused: protocol mismatch')
      conn.send({ kind: 'error', error: wireError('PROTOCOL_MISMATCH', `master speaks protocol ${PROTOCOL_VERSION}`) })
      return conn.close(4400, 'protocol mismatch')
    }
    conn.ready = true
    announced.set(conn.serverId, { agentVersion: hello.agentVersion, capabilities: hello.capabilities })
    registry.add(conn)
    conn.send({ kind: 'welcome', serverId: conn.serverId, protocolVersion: PROTOCOL_VERSION, heartbeatMs })
    conn.logger.info({ agentVersion: hello.agentVersion, inFlight: hello.inFlight.length }, 'agent online')
    presence.mark(conn.serverId, true, hello)
    // At-least-once: whatever the agent does not report in flight is sent again; its journal never runs an id twice.
    // Straight through the driver: every agent asks this at connect, 15,000 of them after a master restart.
    const pending = await deps.sql.query<{
      id: string
      commandId: string
      command: Prisma.JsonValue
      deadlineAt: Date | null
    }>(
      `SELECT id, "commandId", command, "deadlineAt" FROM "Operation" WHERE "serverId" = $1::uuid AND status = 'running' AND "commandId" IS NOT NULL`,
      [conn.serverId],
      'hello-pending-commands',
    )
    const inFlight = new Set(hello.inFlight)
    for (const op of pending) {
      if (inFlight.has(op.commandId!)) continue
      const remaining = (op.deadlineAt?.getTime() ?? 0) - slackMs - clock.now().getTime()
      if (remaining <= 0) continue
      const frame = { ...openCommand(op.command, deps.secretBox), deadlineMs: Math.floor(remaining) }
      tracker.remember(op.commandId!, op.id, conn.serverId, frame.type)
      conn.send(frame)
      await operations.log(op.id, `command re-sent to the agent after it reconnected`)
    }
  }

  async function onFrame(conn: AgentConnection, frame: AgentFrame) {
    if (frame.kind === 'hello') {
      if (conn.ready)
        return void conn.send({ kind: 'error', error: wireError('INVALID_FRAME', 'hello was already received') })
      return onHello(conn, frame)
    }
    if (!conn.ready) {
      conn.send({ kind: 'error', error: wireError('UNAUTHORIZED', 'send hello first') })
      return conn.close(4401, 'hello first')
    }
    switch (frame.kind) {
      case 'metrics':
        return metrics.ingest(conn.serverId, frame)
      case 'error': {
        conn.logger.warn({ error: frame.error, refId: frame.refId }, 'agent refused a frame')
        // A refused command frame never ran: its operation fails with the agent's reason.
        const ref = frame.refId ? await tracker.lookup(frame.refId) : undefined
        if (ref && ref.serverId === conn.serverId)
          await tracker.complete(ref.operationId, frame.refId!, { ok: false, error: frame.error })
        return
      }
      case 'ack':
      case 'log':
      case 'progress':
      case 'result': {
        const request = requests.get(frame.id)
        if (request && request.serverId === conn.serverId) {
          if (frame.kind !== 'result') return
          requests.delete(frame.id)
          clearTimeout(request.timer)
          const checked = frame.ok ? parseCommandResult(request.type, frame.data) : undefined
          request.resolve(
            !frame.ok
              ? { ok: false, error: frame.error }
              : checked!.ok
                ? { ok: true, data: checked!.result }
                : { ok: false, error: checked!.error },
          )
          return void conn.send({ kind: 'ack', id: frame.id })
        }
        const ref = await tracker.lookup(frame.id)
        if (!ref || ref.serverId !== conn.serverId) {
          conn.logger.warn(
            { kind: frame.kind, commandId: frame.id, owner: ref?.serverId },
            'frame refused: command belongs to no operation of this server',
          )
          return void conn.send({
            kind: 'error',
            error: wireError('FORBIDDEN_SERVER', 'no such command for this server'),
            refId: frame.id,
          })
        }
        if (frame.kind === 'ack') return tracker.acked(ref.operationId)
        if (frame.kind === 'log')
          return operations.log(ref.operationId, [
            {
              stream: frame.stream,
              level: frame.level ?? (frame.stream === 'stderr' ? 'warn' : 'info'),
              step: frame.step ?? null,
              message: frame.line,
            },
          ])
        if (frame.kind === 'progress') return operations.step(ref.operationId, frame.step, frame.status)
        await onResult(ref.operationId, ref.type as Command['type'] | undefined, frame)
        return void conn.send({ kind: 'ack', id: frame.id })
      }
    }
  }

  async function onResult(operationId: string, type: Command['type'] | undefined, frame: ResultFrame) {
    let outcome: CommandOutcome
    if (frame.ok) {
      const checked = type ? parseCommandResult(type, frame.data) : { ok: true as const, result: frame.data }
      outcome = checked.ok ? { ok: true, data: checked.result } : { ok: false, error: checked.error }
    } else {
      outcome = { ok: false, error: frame.error }
    }
    await tracker.complete(operationId, frame.id, outcome)
  }

  function onConnection(ws: WebSocket, serverId: string, address: string) {
    const conn = new AgentConnection(serverId, ws, log.child({ serverId, address }))
    sockets.add(conn)
    let queue: Promise<void> = Promise.resolve()
    const helloTimer = setTimeout(() => {
      if (!conn.ready) conn.close(4408, 'no hello')
    }, helloTimeoutMs)
    helloTimer.unref()
    ws.on('message', (data, isBinary) => {
      conn.lastHeard = Date.now()
      const text = isBinary ? undefined : data.toString()
      const parsed =
        text === undefined
          ? { ok: false as const, error: wireError('INVALID_FRAME', 'frames are text') }
          : parseAgentFrame(text)
      if (!parsed.ok) {
        conn.logger.warn({ error: parsed.error }, 'agent frame refused')
        conn.send({
          kind: 'error',
          error: parsed.error,
          ...('refId' in parsed && parsed.refId ? { refId: parsed.refId } : {}),
        })
        return
      }
      // Metrics need no ordering and ingest is synchronous: skip the queue, which is the ingest hot path.
      if (parsed.frame.kind === 'metrics' && conn.ready) return metrics.ingest(conn.serverId, parsed.frame)
      // Frames of one connection are handled in order, so a command's log lines are stored before its result.
      queue = queue
        .then(() => onFrame(conn, parsed.frame))
        .catch((err: unknown) => conn.logger.error({ err, kind: parsed.frame.kind }, 'agent frame failed'))
    })
    ws.on('pong', () => {
      conn.lastHeard = Date.now()
    })
    ws.on('ping', () => {
      conn.lastHeard = Date.now()
    })
    ws.on('error', (err) => conn.logger.warn({ err: err.message }, 'agent socket error'))
    ws.on('close', (code, reason) => {
      clearTimeout(helloTimer)
      sockets.delete(conn)
      if (!registry.remove(conn)) return
      conn.logger.info({ code, reason: reason.toString() }, 'agent offline')
      // Unless the agent came back on a new connection while this one's frames were still being handled.
      void queue.then(() => {
        if (!registry.get(serverId)?.ready) presence.mark(serverId, false)
      })
      interruptIfStillGone(
        serverId,
        `the agent disconnected and did not come back within ${Math.round(graceMs / 1000)} s`,
      )
    })
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const address = req.socket.remoteAddress ?? 'unknown'
    if (sockets.size >= maxAgents) {
      log.warn({ address, agents: sockets.size }, 'agent connection refused: this master holds its maximum of agents')
      return void socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n',
      )
    }
    const m = /^Bearer ([A-Za-z0-9_-]{32,512})$/.exec(req.headers.authorization ?? '')
    try {
      const serverId = await upgradeThrottle.guard(req, socket, () => {
        if (!m) throw new AgentAuthRefused('credential_unknown', 'no agent credential presented')
        return credentials.authenticate(m[1]!)
      })
      if (serverId === undefined) return
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, serverId, address))
    } catch (err) {
      const reason = err instanceof AgentAuthRefused ? err.reason : 'internal'
      if (err instanceof AgentAuthRefused) log.warn({ address, reason }, `agent connection refused: ${err.message}`)
      else log.error({ err, address }, 'agent upgrade failed')
      const body = JSON.stringify({ code: 'UNAUTHORIZED', reason })
      socket.end(
        `HTTP/1.1 ${err instanceof AgentAuthRefused ? '401 Unauthorized' : '500 Internal Server Error'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
    }
  }

  // Pings go out in slices, one every ~100 ms, so 15,000 agents never mean one long stall of the event loop: each
  // ping is a socket write (~40 µs here), and ten slices of 1,500 held the loop ~60 ms every 1.5 s.
  const SLICES = Math.max(10, Math.round(heartbeatMs / 100))
  let slice = 0
  const heartbeat = setInterval(
    () => {
      const now = Date.now()
      slice = (slice + 1) % SLICES
      let i = 0
      for (const conn of sockets) {
        if (i++ % SLICES !== slice) continue
        if (now - conn.lastHeard > 2 * heartbeatMs) {
          conn.logger.warn(
            { silentMs: now - conn.lastHeard },
            'agent silent for two heartbeats: terminating (half-open)',
          )
          conn.terminate()
        } else if (conn.socket.readyState === conn.socket.OPEN) conn.socket.ping()
      }
    },
    Math.max(100, Math.floor(heartbeatMs / SLICES)),
  )
  heartbeat.unref()

  /** Throws AgentOffline unless the server's agent is connected now (checked before an operation is created). */
  function assertOnline(serverId: string, type?: Command['type']): void {
    if (!registry.get(serverId)?.ready) throw new AgentOffline(serverId)
    if (type && !canRun(announced.get(serverId)?.capabilities ?? [], type))
      throw new Conflict(`the agent of server ${serverId} cannot run ${type}; upgrade it`, 'agent_unsupported')
  }

  /** The stored form of a command (secrets sealed, deadline) and how to send it once its operation row exists. */
  function prepare(serverId: string, command: Command, deadlineMs: number) {
    assertOnline(serverId, command.type)
    const id = randomUUID()
    const frame = commandFrame(id, command.type, command.payload as never, deadlineMs)
    const now = clock.now()
    return {
      data: {
        commandId: id,
        command: sealCommand(frame, deps.secretBox) as Prisma.InputJsonValue,
        deadlineAt: new Date(now.getTime() + deadlineMs + slackMs),
        status: 'running' as const,
        startedAt: now,
      },
      send(operationId: string): Promise<CommandOutcome> {
        const done = tracker.track(id, operationId, serverId, command.type)
        // If the agent dropped in between, the command waits in the operation row and goes out on reconnect.
        if (!registry.get(serverId)?.send(frame))
          interruptIfStillGone(
            serverId,
            `the agent went offline before the command was delivered and did not come back within ${Math.round(graceMs / 1000)} s`,
          )
        return done
      },
    }
  }

  const sweeper = setInterval(
    () => {
      void tracker.sweepDeadlines(clock.now())
    },
    Math.min(5_000, heartbeatMs),
  )
  sweeper.unref()

  return {
    /** Takes over WebSocket upgrades on /agent of the master's HTTP server. */
    attach(server: HttpServer) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const path = (req.url ?? '').split('?')[0]
        if (path === '/agent') void onUpgrade(req, socket, head)
        else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      })
    },

    /** Closes the server's live connection (after its credential was revoked). */
    disconnect(serverId: string, reason: string): void {
      registry.get(serverId)?.close(4003, reason)
    },

    isOnline(serverId: string): boolean {
      return registry.get(serverId)?.ready === true
    },

    /** The version the server's agent announced in its last hello here (the stored one may trail it briefly). */
    agentVersion(serverId: string): string | undefined {
      return announced.get(serverId)?.agentVersion
    },

    assertOnline,

    /**
     * Sends a command for an operation. The command is stored on the operation first, so it can be re-sent after a
     * reconnect and the operation finished from its result even after a master restart. Resolves with the outcome.
     */
    async dispatch(
      operationId: string,
      serverId: string,
      command: Command,
      deadlineMs: number,
    ): Promise<CommandOutcome> {
      const sending = prepare(serverId, command, deadlineMs)
      await prisma.operation.update({ where: { id: operationId }, data: sending.data })
      return sending.send(operationId)
    },

    /**
     * Creates an operation already carrying its command and sends it: one insert instead of an insert and an
     * update, for operations that are nothing but one command (server actions). Resolves once it is stored.
     */
    async dispatchNew(
      op: { type: string; serverId: string; clientId?: string | null; requestedBy: string },
      command: Command,
      deadlineMs: number,
    ) {
      const sending = prepare(op.serverId, command, deadlineMs)
      const row = await operations.insertDispatched({ ...op, ...sending.data })
      return { operation: row, done: sending.send(row.id) }
    },

    /**
     * Sends a read-only command that is not an operation (health probes, user counts): nothing is stored, and a lost
     * connection or the deadline simply answers an error. Never for anything that changes a server.
     */
    request(serverId: string, command: Command, deadlineMs: number): Promise<CommandOutcome> {
      assertOnline(serverId, command.type)
      const id = randomUUID()
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          requests.delete(id)
          resolve({
            ok: false,
            error: wireError('DEADLINE_EXCEEDED', `no answer to ${command.type} within ${deadlineMs} ms`),
          })
        }, deadlineMs + 1_000)
        timer.unref()
        requests.set(id, { serverId, type: command.type, resolve, timer })
        registry.get(serverId)?.send(commandFrame(id, command.type, command.payload as never, deadlineMs))
      })
    },

    /** Waits up to `ms` for an operation's outcome; undefined when it is still running. */
    waitFor: tracker.waitFor,

    /**
     * At master start: operations never sent are interrupted now; those sent before the restart wait for their agent
     * (re-sent on hello) and are interrupted if it is not back within the grace period. No connection exists yet, so
     * every server starts offline.
     */
    async reconcileAtStart(): Promise<void> {
      await prisma.server.updateMany({ where: { online: true }, data: { online: false } })
      const left = await prisma.operation.findMany({
        where: { status: { in: ['queued', 'running'] } },
        select: { id: true, commandId: true, serverId: true },
      })
      const servers = new Set<string>()
      for (const op of left) {
        if (!op.commandId || !op.serverId) {
          await operations.log(op.id, [
            { level: 'error', message: 'the master stopped before this operation reached an agent' },
          ])
          await tracker.settle(op.id, {
            status: 'interrupted',
            error: { code: 'INTERRUPTED', message: 'master restarted before dispatch' },
          })
        } else servers.add(op.serverId)
      }
      for (const s of servers)
        interruptIfStillGone(
          s,
          `the agent did not report back within ${Math.round(graceMs / 1000)} s of the master restart`,
        )
      if (left.length)
        log.info(
          { interruptedNow: left.length - [...servers].length, waiting: servers.size },
          'reconciled operations left from the previous run',
        )
    },

    /** Closes every agent socket and stops the timers (agents reconnect to whoever serves next). */
    async close(): Promise<void> {
      clearInterval(heartbeat)
      clearInterval(sweeper)
      for (const t of timers) clearTimeout(t)
      for (const conn of sockets) conn.close(1001, 'master shutting down')
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await Promise.all([tracker.stop(), presence.stop()])
    },
  }
}

export type AgentHub = ReturnType<typeof createAgentHub>
