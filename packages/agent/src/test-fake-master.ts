import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { encodeFrame, parseAgentFrame, type AgentFrame, type MasterFrame } from '@alfa/protocol'
import { WebSocketServer, type WebSocket } from 'ws'

/** An in-process stand-in for the master's /agent endpoint, for this package's tests only. */
export async function startFakeMaster(opts: { credential: string; serverId: string; heartbeatMs?: number }) {
  const received: { conn: number; frame: AgentFrame }[] = []
  const sockets: WebSocket[] = []
  const refusals: number[] = []
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    path: '/agent',
    verifyClient: (info, done) => {
      const ok = info.req.headers.authorization === `Bearer ${opts.credential}`
      if (!ok) refusals.push(Date.now())
      done(ok, 401, 'Unauthorized')
    },
  })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  wss.on('connection', (ws) => {
    const conn = sockets.push(ws) - 1
    ws.on('message', (data) => {
      const parsed = parseAgentFrame(data.toString())
      if (!parsed.ok) throw new Error(`agent sent an invalid frame: ${parsed.error.message}`)
      received.push({ conn, frame: parsed.frame })
      if (parsed.frame.kind === 'hello') {
        ws.send(
          encodeFrame({
            kind: 'welcome',
            serverId: opts.serverId,
            protocolVersion: 1,
            heartbeatMs: opts.heartbeatMs ?? 1000,
          }),
        )
      }
    })
  })
  return {
    port: (wss.address() as AddressInfo).port,
    received,
    sockets,
    refusals,
    /** Frames of one kind, from connection `conn` when given. */
    frames<K extends AgentFrame['kind']>(kind: K, conn?: number): Extract<AgentFrame, { kind: K }>[] {
      return received
        .filter((r) => r.frame.kind === kind && (conn === undefined || r.conn === conn))
        .map((r) => r.frame as Extract<AgentFrame, { kind: K }>)
    },
    send(frame: MasterFrame, conn = sockets.length - 1): void {
      sockets[conn]?.send(encodeFrame(frame))
    },
    async close(): Promise<void> {
      for (const ws of sockets) ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}

/** A TCP relay whose current links can be frozen: nothing flows either way, yet no socket closes (half-open). */
export async function startFreezableProxy(targetPort: number) {
  const frozen = new WeakSet<net.Socket>()
  const pairs: net.Socket[] = []
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    pairs.push(client, upstream)
    const relay = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (!frozen.has(from)) to.write(chunk)
      })
    relay(client, upstream)
    relay(upstream, client)
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', closeBoth).on('error', closeBoth)
    upstream.on('close', closeBoth).on('error', closeBoth)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    /** Freezes the links open now; later connections flow normally. */
    freeze(): void {
      for (const socket of pairs) frozen.add(socket)
    },
    async close(): Promise<void> {
      for (const socket of pairs) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
