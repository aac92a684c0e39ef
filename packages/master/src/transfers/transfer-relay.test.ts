import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTransferRelay, type TransferRelay } from './transfer-relay.ts'

const CRED = { S: 's'.repeat(40), T: 't'.repeat(40) }

describe('transfer relay', () => {
  let server: http.Server
  let relay: TransferRelay
  let port: number

  beforeEach(async () => {
    relay = createTransferRelay({
      auth: {
        authenticate: async (c) => {
          const found = Object.entries(CRED).find(([, v]) => v === c)
          if (!found) throw new Error('unknown')
          return found[0]
        },
      },
      logger: pino({ level: 'silent' }),
      waitMs: 2_000,
    })
    // Node's request timeout (5 min by default, here 1 s, checked every 100 ms): a request whose body has not all
    // arrived by then is cut. The app answers once it has read the body, as the REST app does.
    const timeouts = { requestTimeout: 1_000, headersTimeout: 500, connectionsCheckingInterval: 100 }
    server = http.createServer(timeouts, (req, res) => {
      req.resume()
      req.once('end', () => res.writeHead(418).end('app'))
    })
    relay.attach(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    port = (server.address() as AddressInfo).port
  })
  afterEach(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  function req(method: string, id: string, cred: string | undefined, token: string) {
    return http.request({
      host: '127.0.0.1',
      port,
      method,
      path: `/agent/transfers/${id}`,
      agent: false,
      headers: { ...(cred ? { Authorization: `Bearer ${cred}` } : {}), 'X-Alfa-Transfer-Token': token },
    })
  }
  const answer = (r: http.ClientRequest) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      r.once('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      })
      r.on('error', reject)
    })

  it('pipes the sender PUT into the receiver GET and reports the bytes; other paths reach the app', async () => {
    const t = relay.open('S', 'T')
    const get = req('GET', t.id, CRED.T, t.receiveToken)
    get.end()
    const put = req('PUT', t.id, CRED.S, t.sendToken)
    const payload = Buffer.alloc(3 * 1024 * 1024, 9)
    put.end(payload)
    const [got, sent] = await Promise.all([answer(get), answer(put)])
    expect(got.status).toBe(200)
    expect(got.body.equals(payload)).toBe(true)
    expect(sent.status).toBe(200)
    expect(await t.outcome).toEqual({ ok: true, bytes: payload.length })
    expect(relay.openCount()).toBe(0)
    const app = await fetch(`http://127.0.0.1:${port}/clients`)
    expect(app.status).toBe(418)
  })

  it.each([
    ['no credential', undefined, 'send', 401],
    ['an unknown credential', 'x'.repeat(40), 'send', 401],
    ['the wrong token', CRED.S, 'wrong', 403],
    ["the receiver's credential on the send side", CRED.T, 'send', 403],
  ] as const)('refuses %s', async (_what, cred, token, status) => {
    const t = relay.open('S', 'T')
    const put = req('PUT', t.id, cred, token === 'send' ? t.sendToken : 'w'.repeat(43))
    put.end('data')
    expect((await answer(put)).status).toBe(status)
  })

  it('answers 404 for an unknown transfer and 409 for a second sender', async () => {
    const unknown = req('PUT', '00000000-0000-4000-8000-000000000000', CRED.S, 'x')
    unknown.end('data')
    expect((await answer(unknown)).status).toBe(404)
    const t = relay.open('S', 'T')
    const first = req('PUT', t.id, CRED.S, t.sendToken)
    first.on('error', () => undefined)
    first.write('x')
    const second = req('PUT', t.id, CRED.S, t.sendToken)
    second.end('y')
    expect((await answer(second)).status).toBe(409)
    first.destroy()
  })

  it('cuts the receiver when the sender breaks off, so a partial transfer never looks whole', async () => {
    const t = relay.open('S', 'T')
    const get = req('GET', t.id, CRED.T, t.receiveToken)
    get.end()
    const put = req('PUT', t.id, CRED.S, t.sendToken)
    put.on('error', () => undefined)
    put.write(Buffer.alloc(64 * 1024, 1))
    const received = answer(get)
    setTimeout(() => put.destroy(), 200)
    await expect(received).rejects.toThrow(/aborted|socket hang up|ECONNRESET/)
    expect((await t.outcome).ok).toBe(false)
  })

  it("lets a transfer's stream outlast the wait for its sides and the server's request timeout", async () => {
    const t = relay.open('S', 'T')
    const get = req('GET', t.id, CRED.T, t.receiveToken)
    get.end()
    const received = answer(get)
    const put = req('PUT', t.id, CRED.S, t.sendToken)
    const sent = answer(put)
    const chunk = Buffer.alloc(64 * 1024, 7)
    // A large database streams for minutes: here 3 s of sending, against the relay's 2 s wait for both sides and the
    // server's 1 s request timeout.
    for (let i = 0; i < 12; i++) {
      put.write(chunk)
      await new Promise((r) => setTimeout(r, 250))
    }
    put.end()
    const [got, answered] = await Promise.all([received, sent])
    expect(answered.status).toBe(200)
    expect(got.body.length).toBe(12 * chunk.length)
    expect(await t.outcome).toEqual({ ok: true, bytes: 12 * chunk.length })
  })

  it('still cuts any other request whose body has not arrived within the request timeout', async () => {
    const slow = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/clients',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': '100' },
    })
    slow.write('{"data":')
    // Cut: a 408, or the socket closed under it. Never the app's answer, which waits for the whole body.
    const outcome = await new Promise<number | string>((resolve) => {
      slow.once('response', (res) => resolve(res.statusCode ?? 0))
      slow.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    })
    expect([408, 'ECONNRESET', 'socket hang up']).toContain(outcome)
  })

  it('gives up on a transfer whose other side never comes', async () => {
    const t = relay.open('S', 'T')
    expect(await t.outcome).toEqual({ ok: false, bytes: 0, reason: 'no stream within 2000 ms' })
  })
})
