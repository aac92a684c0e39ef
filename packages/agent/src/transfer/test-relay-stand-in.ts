import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach } from 'vitest'
import { masterChannel, type MasterChannel } from './master-channel.ts'

/** What the stand-in answers a transfer's GET with: the whole stream, one cut half-way, or a refusal. */
export type RelayMode = 'whole' | 'cut' | 'refuse'

/**
 * A stand-in for the master's relay, started before each test and closed after it, serving `data` as `mode()`
 * says. Returns the channel an agent would use to reach it.
 */
export function useRelayStandIn(data: Buffer, mode: () => RelayMode): () => MasterChannel {
  let server: http.Server
  let port: number
  beforeEach(async () => {
    server = http.createServer((_req, res) => {
      if (mode() === 'refuse') return void res.writeHead(403).end('{"code":"FORBIDDEN"}')
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
      if (mode() === 'whole') return void res.end(data)
      res.write(data.subarray(0, data.length / 2), () => setTimeout(() => res.destroy(), 50))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    port = (server.address() as AddressInfo).port
  })
  afterEach(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return () => masterChannel(`ws://127.0.0.1:${port}/agent`, 'c'.repeat(40))
}
