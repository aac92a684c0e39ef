import {
  encodeFrame,
  MAX_FRAME_BYTES,
  parseMasterFrame,
  wireError,
  type AgentFrame,
  type HelloFrame,
  type MasterFrame,
  type WelcomeFrame,
} from '@alfa/protocol'
import type { Logger } from 'pino'
import WebSocket from 'ws'
import type { Backoff } from './backoff.ts'
import { pinnedTlsOptions } from './pinning.ts'

/** Close code the master uses when a newer connection of the same server replaced this one. */
export const CLOSE_REPLACED = 4001
/** A connection that held this long was healthy: the next failure starts the backoff from the bottom again. */
const STABLE_AFTER_MS = 10_000
/** How much of a refused upgrade's body is read for the log (the master's JSON:API reason). */
const REFUSAL_BODY_BYTES = 2048

export interface ConnectionOptions {
  wsUrl: string
  credential: string
  /** The pinned certificate fingerprint of a wss:// master. */
  fingerprint?: string
  /** The CA a wss:// master's certificate must chain to (ALFA_AGENT_MASTER_CA); the system's CAs otherwise. */
  ca?: Buffer
  serverId: string
  /** Ping interval until the master's welcome names its own. */
  heartbeatMs: number
  backoff: Backoff
  /** Builds the hello at each connect, so inFlight is current. */
  hello: () => HelloFrame
  /** After welcome: the connection may carry results (re-send the unacked ones now). */
  onReady: (welcome: WelcomeFrame) => void
  /** Every valid frame from the master other than welcome. */
  onFrame: (frame: MasterFrame) => void
  logger: Logger
  now?: () => number
}

/**
 * The agent's one WebSocket to the master: dials out (works behind NAT), says hello, waits for welcome, pings and
 * drops half-open sockets, and reconnects forever with full-jitter backoff until stopped.
 */
export function createConnection(opts: ConnectionOptions) {
  const now = opts.now ?? Date.now
  const log = opts.logger.child({ component: 'connection', serverId: opts.serverId })
  let socket: WebSocket | undefined
  let ready = false
  let stopped = true
  let reconnectTimer: NodeJS.Timeout | undefined
  let connects = 0

  /** Sends on an open socket whether or not welcomed (hello, frame errors); false when it could not. */
  function rawSend(ws: WebSocket, frame: AgentFrame): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false
    try {
      ws.send(encodeFrame(frame))
      return true
    } catch (error) {
      // encodeFrame refuses frames over the limit: the peer would refuse them too.
      log.error({ err: error, kind: frame.kind }, 'frame not sent')
      return false
    }
  }

  function connect(): void {
    connects++
    const ws = new WebSocket(opts.wsUrl, {
      headers: { Authorization: `Bearer ${opts.credential}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 15_000,
      ...(opts.fingerprint || opts.ca ? pinnedTlsOptions(opts.fingerprint, opts.ca) : {}),
    })
    socket = ws
    let openedAt: number | undefined
    let lastSeen = now()
    let interval = opts.heartbeatMs
    let heartbeat: NodeJS.Timeout | undefined
    let refusedStatus: number | undefined
    const seen = () => {
      lastSeen = now()
    }
    const startHeartbeat = () => {
      clearInterval(heartbeat)
      heartbeat = setInterval(beat, interval)
    }
    function beat(): void {
      if (now() - lastSeen > 2 * interval) {
        log.warn({ silentMs: now() - lastSeen }, 'master silent for two heartbeats: dropping the connection')
        ws.terminate()
      } else if (!ready && openedAt !== undefined && now() - openedAt > 2 * interval) {
        log.warn('no welcome from the master: dropping the connection')
        ws.terminate()
      } else {
        ws.ping()
      }
    }

    ws.on('unexpected-response', (_req, res) => {
      refusedStatus = res.statusCode
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (body.length < REFUSAL_BODY_BYTES) body += chunk
      })
      const report = () => {
        const detail = body.slice(0, REFUSAL_BODY_BYTES)
        const hint =
          refusedStatus === 401 || refusedStatus === 403 ? ' (credential wrong or revoked: re-enroll this agent)' : ''
        log.error({ status: refusedStatus, detail }, `master refused the connection: HTTP ${refusedStatus}${hint}`)
        ws.terminate()
      }
      res.once('end', report)
      res.once('error', report)
    })
    ws.on('open', () => {
      openedAt = now()
      seen()
      startHeartbeat()
      log.info({ url: opts.wsUrl }, 'connected, sending hello')
      rawSend(ws, opts.hello())
    })
    ws.on('ping', seen)
    ws.on('pong', seen)
    ws.on('message', (data, isBinary) => {
      seen()
      const parsed = parseMasterFrame(isBinary ? '' : data.toString())
      if (!parsed.ok) {
        log.warn({ error: parsed.error, refId: parsed.refId }, 'invalid frame from the master refused')
        rawSend(ws, { kind: 'error', error: parsed.error, ...(parsed.refId ? { refId: parsed.refId } : {}) })
        return
      }
      const frame = parsed.frame
      if (frame.kind !== 'welcome') {
        opts.onFrame(frame)
        return
      }
      if (frame.serverId !== opts.serverId) {
        log.error({ welcomed: frame.serverId }, 'master welcomed another server id: dropping the connection')
        rawSend(ws, { kind: 'error', error: wireError('FORBIDDEN_SERVER', 'welcome names another server') })
        ws.terminate()
        return
      }
      interval = frame.heartbeatMs
      startHeartbeat()
      ready = true
      log.info({ heartbeatMs: interval }, 'welcomed by the master')
      opts.onReady(frame)
    })
    ws.on('error', (error) => log.warn({ err: error }, 'connection error'))
    ws.on('close', (code, reason) => {
      clearInterval(heartbeat)
      ready = false
      if (socket === ws) socket = undefined
      if (code === CLOSE_REPLACED) log.warn('replaced by a newer connection of this server')
      else if (openedAt !== undefined)
        log[stopped ? 'info' : 'warn']({ code, reason: reason.toString() }, 'connection closed')
      if (stopped) return
      const lasted = openedAt === undefined ? 0 : now() - openedAt
      if (lasted > STABLE_AFTER_MS) opts.backoff.reset()
      // A refused credential will not fix itself in milliseconds: retry near the cap, not in a tight loop.
      const delay = refusedStatus === 401 || refusedStatus === 403 ? opts.backoff.atCap() : opts.backoff.next()
      log.info({ delayMs: delay }, 'reconnecting')
      reconnectTimer = setTimeout(connect, delay)
    })
  }

  return {
    start(): void {
      if (!stopped) return
      stopped = false
      connect()
    },

    /** Closes the connection for good (normal closure), without reconnecting. */
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(reconnectTimer)
      const ws = socket
      if (!ws || ws.readyState === WebSocket.CLOSED) return
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'agent stopping')
      else ws.terminate()
      const timer = setTimeout(() => ws.terminate(), 2000)
      await closed
      clearTimeout(timer)
    },

    /** Sends a frame once welcomed; false (dropped) while the connection is down. */
    send(frame: AgentFrame): boolean {
      return ready && socket !== undefined && rawSend(socket, frame)
    },

    get ready(): boolean {
      return ready
    },

    /** Connection attempts so far, for logs and tests. */
    get connects(): number {
      return connects
    },
  }
}

export type Connection = ReturnType<typeof createConnection>
