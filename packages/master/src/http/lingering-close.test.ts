import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import type { Server } from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { LingerBounds } from './lingering-close.ts'
import { bodyLimitGuard } from './request-guards.ts'

const MB = 1024 * 1024
let server: Server | undefined

/** A real HTTP server with the body limit (256 KiB) in front of one route, on a loopback port. */
async function listen(linger: LingerBounds): Promise<number> {
  const app = new Hono()
  app.onError((_err, c) => c.text('too large', 413))
  app.use('*', bodyLimitGuard({ maxBodyBytes: 256 * 1024, linger }))
  app.post('/x', (c) => c.text('ok'))
  const http = createAdaptorServer({ fetch: app.fetch }) as Server
  server = http
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return (http.address() as net.AddressInfo).port
}

/**
 * Sends a Content-Length body of `total` bytes without reading anything until it is all written (or refused).
 * `paceMs`: a pause after each MiB, for a sender slower than the master's 50 ms check of the bytes read (over loopback
 * on an idle machine, 64 MiB can otherwise all arrive between two checks, and then nothing is left to cut).
 */
function sendThenRead(port: number, total: number, paceMs = 0): Promise<{ answer: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.pause()
    let answer = ''
    let sent = 0
    const chunk = Buffer.alloc(MB, 0x61)
    const end = (error?: string) => {
      socket.destroy()
      resolve({ answer, ...(error ? { error } : {}) })
    }
    socket.on('data', (d) => (answer += d.toString('latin1')))
    socket.on('end', () => end())
    socket.on('error', (err) => end(err.message))
    socket.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`)
    const pump = () => {
      while (sent < total) {
        sent += MB
        const flushed = socket.write(chunk)
        const next = paceMs > 0 ? () => setTimeout(pump, paceMs) : pump
        if (!flushed) return void socket.once('drain', next)
        if (paceMs > 0) return void next()
      }
      socket.resume()
    }
    pump()
  })
}

afterEach(async () => {
  await new Promise<void>((resolve) => {
    server?.close(() => resolve())
    server?.closeAllConnections()
  })
})

describe('lingerAfterRefusal', () => {
  it('keeps draining after the 413 so a sender that reads only at the end still gets the answer', async () => {
    const port = await listen({ maxMs: 10_000, maxBytes: 256 * MB })
    const res = await sendThenRead(port, 64 * MB)
    expect(res.error).toBeUndefined()
    expect(res.answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(res.answer).toMatch(/\r\nConnection: close\r\n/i)
  })

  it('cuts the connection once the sender has sent more than maxBytes after the refusal', async () => {
    const port = await listen({ maxMs: 10_000, maxBytes: 2 * MB })
    const res = await sendThenRead(port, 64 * MB, 5)
    expect(res.error).toMatch(/EPIPE|ECONNRESET/)
  })

  it('cuts a sender that keeps dripping bytes after the refusal once maxMs has passed', async () => {
    const port = await listen({ maxMs: 300, maxBytes: 256 * MB })
    // allowHalfOpen: the master's FIN alone does not close this end; only the master cutting the socket does.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    socket.write(`POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${MB}\r\n\r\n`)
    // Two bytes every 20 ms: far below maxBytes, so only the deadline can end this.
    const drip = setInterval(() => socket.write('ab'), 20)
    let answer = ''
    socket.on('data', (d) => (answer += d.toString('latin1')))
    let error = ''
    socket.on('error', (err) => (error = err.message))
    await new Promise((resolve) => socket.once('close', resolve))
    clearInterval(drip)
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(error).toMatch(/EPIPE|ECONNRESET/)
  })
})
