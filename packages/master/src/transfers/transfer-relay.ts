import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Logger } from 'pino'
import { AgentAuthRefused } from '../agent-hub/agent-credentials.ts'

/** Who may open a side of a transfer: the agent credential check the WebSocket upgrade uses. */
export interface RelayAuth {
  /** The server the credential proves; throws AgentAuthRefused otherwise. */
  authenticate(credential: string): Promise<string>
}

/** How one transfer ended at the relay: every byte went from the sender to the receiver, or why not. */
export type RelayOutcome = { ok: true; bytes: number } | { ok: false; bytes: number; reason: string }

interface Side {
  req: IncomingMessage
  res: ServerResponse
}

interface Transfer {
  id: string
  sourceServerId: string
  targetServerId: string
  sendHash: Buffer
  receiveHash: Buffer
  send?: Side
  receive?: Side
  timer: NodeJS.Timeout
  settle(outcome: RelayOutcome): void
}

/** Node's own request timeout, for one request: a body not all arrived within `ms` gets a 408 and its socket goes. */
function cutIfIncomplete(req: IncomingMessage, res: ServerResponse, ms: number) {
  const timer = setTimeout(() => {
    if (req.complete) return
    if (!res.headersSent) res.writeHead(408, { Connection: 'close' }).end()
    req.socket.destroy()
  }, ms)
  timer.unref()
  req.once('end', () => clearTimeout(timer))
  req.once('close', () => clearTimeout(timer))
}

/** How long a refused sender's bytes are read and dropped so that it can read the refusal. */
const LINGER_MS = 1_000
const PATH = /^\/agent\/transfers\/([0-9a-f-]{36})$/
const hashOf = (token: string) => createHash('sha256').update(token).digest()

/**
 * The master's side of the transfer channel. Agents only dial out, so bytes between two servers come in on the
 * sender's PUT and leave on the receiver's GET of the same transfer, piped with backpressure (the relay reads
 * from the sender only as fast as the receiver takes): never held whole in memory and never written to the
 * master's disk. A transfer is opened by the master (two one-time tokens, one per side, each bound to its server)
 * and lives in this process only: a broken or abandoned one is retried from the start as a new transfer.
 */
export function createTransferRelay(deps: { auth: RelayAuth; logger: Logger; waitMs?: number }) {
  const log = deps.logger.child({ component: 'transfer-relay' })
  const transfers = new Map<string, Transfer>()
  const waitMs = deps.waitMs ?? 120_000

  function refuse(res: ServerResponse, status: number, code: string, message: string) {
    if (res.headersSent) return void res.destroy()
    const body = JSON.stringify({ code, message })
    res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' }).end(body)
    // A lingering close: the refused sender is still writing, and a socket closed under it would lose the answer.
    // What it sends is discarded (never buffered) for at most a second, then the socket goes.
    const req = res.req
    if (!req.complete) {
      req.resume()
      setTimeout(() => req.socket.destroy(), LINGER_MS).unref()
    }
  }

  function end(t: Transfer, outcome: RelayOutcome) {
    if (transfers.get(t.id) !== t) return
    transfers.delete(t.id)
    clearTimeout(t.timer)
    t.settle(outcome)
    if (!outcome.ok) {
      // A receiver must see a cut stream, never a clean end, so it never takes a partial transfer for a whole one.
      // (refuse() destroys a response whose headers went out.)
      if (t.receive) refuse(t.receive.res, 410, 'GONE', outcome.reason)
      if (t.send) refuse(t.send.res, 502, 'TRANSFER_FAILED', outcome.reason)
    }
    log.info({ transferId: t.id, ...outcome }, outcome.ok ? 'transfer relayed' : 'transfer failed')
  }

  async function run(t: Transfer, send: Side, receive: Side) {
    // Both sides came: the wait for them is over (a stream may rightly run for longer than that wait).
    clearTimeout(t.timer)
    let bytes = 0
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length
        done(null, chunk)
      },
    })
    receive.res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
    receive.res.flushHeaders()
    try {
      await pipeline(send.req, counter, receive.res)
      send.res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ bytes }))
      end(t, { ok: true, bytes })
    } catch (error) {
      end(t, { ok: false, bytes, reason: `the stream broke off after ${bytes} bytes: ${(error as Error).message}` })
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, id: string) {
    const credential = /^Bearer ([A-Za-z0-9_-]{32,512})$/.exec(req.headers.authorization ?? '')?.[1]
    const token = req.headers['x-alfa-transfer-token']
    let serverId: string
    try {
      if (!credential) throw new AgentAuthRefused('credential_unknown', 'no agent credential presented')
      serverId = await deps.auth.authenticate(credential)
    } catch (err) {
      if (!(err instanceof AgentAuthRefused)) log.error({ err }, 'transfer authentication failed')
      return refuse(res, 401, 'UNAUTHORIZED', 'an agent credential is required')
    }
    const t = transfers.get(id)
    const side = req.method === 'PUT' ? 'send' : req.method === 'GET' ? 'receive' : undefined
    if (!side) return refuse(res, 405, 'METHOD', 'PUT sends, GET receives')
    if (!t) return refuse(res, 404, 'NOT_FOUND', `no open transfer ${id}`)
    const expected = side === 'send' ? t.sendHash : t.receiveHash
    const given = typeof token === 'string' ? hashOf(token) : Buffer.alloc(32)
    const owner = side === 'send' ? t.sourceServerId : t.targetServerId
    if (!timingSafeEqual(given, expected) || serverId !== owner) {
      log.warn({ transferId: id, serverId, side }, 'transfer side refused: wrong token or server')
      return refuse(res, 403, 'FORBIDDEN', `not this transfer's ${side === 'send' ? 'sender' : 'receiver'}`)
    }
    if (t[side]) return refuse(res, 409, 'CONFLICT', `the ${side} side of ${id} is already open`)
    t[side] = { req, res }
    // A side that goes away before the stream starts ends the transfer (the other side is told at once).
    res.once('close', () => {
      if (transfers.get(id) === t && !res.writableFinished)
        end(t, { ok: false, bytes: 0, reason: `${side} side closed` })
    })
    if (t.send && t.receive) void run(t, t.send, t.receive)
  }

  return {
    /** Opens a transfer from one server to another; its tokens go to the two agents in their commands. */
    open(sourceServerId: string, targetServerId: string) {
      const id = randomUUID()
      const sendToken = randomBytes(32).toString('base64url')
      const receiveToken = randomBytes(32).toString('base64url')
      let settle!: (o: RelayOutcome) => void
      const outcome = new Promise<RelayOutcome>((resolve) => (settle = resolve))
      const t: Transfer = {
        id,
        sourceServerId,
        targetServerId,
        sendHash: hashOf(sendToken),
        receiveHash: hashOf(receiveToken),
        settle,
        timer: setTimeout(() => end(t, { ok: false, bytes: 0, reason: `no stream within ${waitMs} ms` }), waitMs),
      }
      t.timer.unref()
      transfers.set(id, t)
      return { id, sendToken, receiveToken, outcome }
    },

    /** Ends a transfer the master gave up on (its commands failed): both sides are cut. */
    abort(id: string, reason: string) {
      const t = transfers.get(id)
      if (t) end(t, { ok: false, bytes: 0, reason })
    },

    /** Open transfers, for tests and the log. */
    openCount: () => transfers.size,

    /**
     * Serves /agent/transfers/<id> on the master's HTTP server ahead of the REST app (which buffers bodies under
     * its size limit): a transfer's body is a stream, read only once its sender is authenticated.
     *
     * Node cuts any request whose body has not all arrived within the server's `requestTimeout` (5 minutes by
     * default), which would cut every transfer streaming for longer (a database of a few GB): every attempt of a
     * large move failed the same way. The server's limit is lifted and applied again here to every other request;
     * a transfer is bounded by its commands' deadlines instead.
     */
    attach(server: HttpServer) {
      const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
      const bodyLimitMs = server.requestTimeout
      server.requestTimeout = 0
      server.removeAllListeners('request')
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        const m = PATH.exec((req.url ?? '').split('?')[0] ?? '')
        if (m?.[1]) return void handle(req, res, m[1])
        if (bodyLimitMs > 0 && !req.complete) cutIfIncomplete(req, res, bodyLimitMs)
        for (const listener of listeners) listener.call(server, req, res)
      })
    },
  }
}

export type TransferRelay = ReturnType<typeof createTransferRelay>
