import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { MAX_FRAME_BYTES } from '@alfa/protocol'
import type { Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { AgentAuthRefused, type AgentCredentials } from './agent-credentials.ts'
import type { UpgradeThrottle } from './upgrade-throttle.ts'

/**
 * WebSocket upgrades on /agent: refused with 503 past the master's maximum of agents (file descriptors stay free for
 * the API and the database), with 401 without a valid agent credential; accepted ones are handed on with the server
 * the credential proves.
 */
export function createUpgradeAuth(deps: {
  credentials: AgentCredentials
  /** Failed upgrades per address are throttled before the credential costs a database query. */
  throttle: UpgradeThrottle
  logger: Logger
  maxAgents: number
  /** How many agent sockets this process holds now. */
  held(): number
  onConnection(ws: WebSocket, serverId: string, address: string): void
}) {
  const log = deps.logger
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const address = req.socket.remoteAddress ?? 'unknown'
    if (deps.held() >= deps.maxAgents) {
      log.warn({ address, agents: deps.held() }, 'agent connection refused: this master holds its maximum of agents')
      return void socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n',
      )
    }
    const m = /^Bearer ([A-Za-z0-9_-]{32,512})$/.exec(req.headers.authorization ?? '')
    try {
      const serverId = await deps.throttle.guard(req, socket, () => {
        if (!m?.[1]) throw new AgentAuthRefused('credential_unknown', 'no agent credential presented')
        return deps.credentials.authenticate(m[1])
      })
      // The throttle answered (429) itself.
      if (serverId === undefined) return
      wss.handleUpgrade(req, socket, head, (ws) => deps.onConnection(ws, serverId, address))
    } catch (err) {
      const refused = err instanceof AgentAuthRefused
      if (refused) log.warn({ address, reason: err.reason }, `agent connection refused: ${err.message}`)
      else log.error({ err, address }, 'agent upgrade failed')
      const body = JSON.stringify({ code: 'UNAUTHORIZED', reason: refused ? err.reason : 'internal' })
      const status = refused ? '401 Unauthorized' : '500 Internal Server Error'
      socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
    }
  }

  return {
    /**
     * Takes over WebSocket upgrades on /agent of the master's HTTP server, and cuts connections from addresses
     * throttled for failed upgrades before they are parsed.
     */
    attach(server: HttpServer) {
      // The HTTP (or TLS) server's own connection listeners run only for sockets the throttle lets through.
      const parsers = server.listeners('connection') as ((socket: Socket) => void)[]
      server.removeAllListeners('connection')
      server.on('connection', (socket: Socket) => {
        if (deps.throttle.refuseConnection(socket)) return
        for (const parse of parsers) parse.call(server, socket)
      })
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const path = (req.url ?? '').split('?')[0]
        if (path === '/agent') void onUpgrade(req, socket, head)
        else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      })
    },
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  }
}
