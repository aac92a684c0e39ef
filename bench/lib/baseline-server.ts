// The raw baseline the master is compared with, in its own process: one @hono/node-server on one port serving a
// trivial route (GET /x) and a bare `ws` endpoint on /agent that does the least any agent server must do — parse each
// frame as JSON, count metrics, answer hello with welcome, and relay a command for GET /cmd/:serverId. No auth, no
// validation, no database: the ratio to it is the cost of everything the master adds.
import { randomUUID } from 'node:crypto'
import type { Server as HttpServer, IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { WebSocketServer, type WebSocket } from 'ws'

let metrics = 0
const agents = new Map<string, WebSocket>()
const pending = new Map<string, (data: unknown) => void>()

const app = new Hono()
app.get('/x', (c) => c.json({ ok: true, agents: agents.size }))
app.get('/cmd/:id', async (c) => {
  const ws = agents.get(c.req.param('id'))
  if (!ws) return c.json({ error: 'offline' }, 503)
  const id = randomUUID()
  const data = await new Promise<unknown>((resolve) => {
    pending.set(id, resolve)
    ws.send(JSON.stringify({ kind: 'command', id, type: 'image.list', payload: {}, deadlineMs: 30_000 }))
  })
  return c.json({ data })
})

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 })
wss.on('connection', (ws) => {
  let serverId: string | undefined
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as { kind: string; serverId?: string; id?: string; data?: unknown }
    switch (frame.kind) {
      case 'metrics':
        metrics++
        return
      case 'hello':
        // Like the master: a second hello gets an error frame, which the simulators use as an in-order probe.
        if (serverId)
          return ws.send(
            JSON.stringify({ kind: 'error', error: { code: 'INVALID_FRAME', message: 'hello was already received' } }),
          )
        serverId = frame.serverId!
        agents.set(serverId, ws)
        return ws.send(JSON.stringify({ kind: 'welcome', serverId, protocolVersion: 1, heartbeatMs: 15_000 }))
      case 'result':
        pending.get(frame.id!)?.(frame.data)
        pending.delete(frame.id!)
        return
    }
  })
  ws.on('close', () => {
    if (serverId && agents.get(serverId) === ws) agents.delete(serverId)
  })
  ws.on('error', () => ws.terminate())
})

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  process.send?.({ type: 'ready', port: info.port })
}) as HttpServer
server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  if ((req.url ?? '').split('?')[0] !== '/agent') return void socket.end('HTTP/1.1 404 Not Found\r\n\r\n')
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') process.send?.({ type: 'stats', metrics })
})
process.on('disconnect', () => process.exit(0))
