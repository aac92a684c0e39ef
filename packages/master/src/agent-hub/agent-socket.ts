import { AGENT_CLOSE, parseAgentFrame, wireError, type AgentFrame } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { WebSocket } from 'ws'
import type { MetricsStore } from '../metrics/metrics-store.ts'
import { AgentConnection } from './agent-connection.ts'

/** Frames of one connection read and waiting to be handled, at most (plus the rest of the chunk being parsed). */
export const MAX_PENDING_FRAMES = 1_000

/**
 * The life of one authenticated agent socket: hello within a timeout, frames parsed and handled in order (so a
 * command's log lines are stored before its result), liveness noted for the heartbeat, and the close reported.
 */
export function openAgentSocket(deps: {
  ws: WebSocket
  serverId: string
  /** The hub's logger: the connection logs through a child naming its server and `address`. */
  logger: Logger
  address?: string
  helloTimeoutMs: number
  metrics: MetricsStore
  onFrame(conn: AgentConnection, frame: AgentFrame): Promise<void>
  /** Frames read and not yet handled before the socket stops reading (default MAX_PENDING_FRAMES). */
  maxPendingFrames?: number
  /** The socket closed; `settled` resolves once its queued frames were handled. */
  onClose(conn: AgentConnection, code: number, reason: string, settled: Promise<void>): void
}): AgentConnection {
  const { ws } = deps
  const conn = new AgentConnection(deps.serverId, ws, deps.logger, deps.address ? { address: deps.address } : {})
  const maxPending = deps.maxPendingFrames ?? MAX_PENDING_FRAMES
  let queue: Promise<void> = Promise.resolve()
  // Let go once it has run: the close handler below holds it for the connection's life, and a spent timer per agent
  // (with its closure) was ~3 % of the master's live objects at 15,000 agents, for every full collection to mark.
  let helloTimer: NodeJS.Timeout | undefined = setTimeout(() => {
    helloTimer = undefined
    if (!conn.ready) conn.close(AGENT_CLOSE.noHello, 'no hello')
  }, deps.helloTimeoutMs)
  helloTimer.unref()
  ws.on('message', (data, isBinary) => {
    conn.heard()
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
    if (parsed.frame.kind === 'metrics' && conn.ready)
      return deps.metrics.ingest(conn.serverId, parsed.frame, parsed.verbatim ? text : undefined)
    conn.pendingFrames++
    // Bounded by count: past the bound the socket stops reading until half the queue is handled, so a peer sending
    // faster than its frames are stored waits in TCP's flow control instead of growing this chain (nothing dropped).
    if (conn.pendingFrames >= maxPending && !ws.isPaused) ws.pause()
    queue = queue
      .then(() => deps.onFrame(conn, parsed.frame))
      .catch((err: unknown) => conn.logger.error({ err, kind: parsed.frame.kind }, 'agent frame failed'))
      .finally(() => {
        conn.pendingFrames--
        // Behind on its frames is not silent: the heartbeat must not drop a peer whose pongs wait behind them.
        conn.heard()
        if (ws.isPaused && conn.pendingFrames <= maxPending / 2) ws.resume()
      })
  })
  // Anonymous on purpose: tsx keeps a named closure's name with defineProperty, which gives each its own property
  // dictionary (~256 bytes per agent and closure, held as long as the connection).
  ws.on('pong', () => conn.heard())
  ws.on('ping', () => conn.heard())
  ws.on('error', (err) => conn.logger.warn({ err: err.message }, 'agent socket error'))
  ws.on('close', (code, reason) => {
    clearTimeout(helloTimer)
    deps.onClose(conn, code, reason.toString(), queue)
  })
  return conn
}
