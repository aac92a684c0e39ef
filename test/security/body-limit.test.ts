// A stranger's large body must be refused before it is read: measured from outside, on a master running as its own
// process, with the body sent from this (second) process.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { createTestApp, type TestApp } from '../support/master-app.ts'
import { processMemory, sampleRss } from '../support/proc-memory.ts'
import { securityCase } from './report.ts'

const MB = 1024 * 1024
const BODY = 200 * MB

/**
 * Streams `total` bytes to the URL over a raw socket (with backpressure) until the master answers or drops the
 * socket. By default the answer is read as it arrives; `readAfterSending` reads nothing until the whole body is
 * written (as simple clients do), so only a master that keeps draining after its answer is heard at all.
 */
function sendLargeBody(
  url: string,
  total: number,
  opts: { chunked: boolean; readAfterSending?: boolean },
): Promise<{ status: number; sent: number; error?: string }> {
  const { hostname, port, pathname } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    const chunk = Buffer.alloc(MB, 0x61)
    const framed = opts.chunked
      ? Buffer.concat([Buffer.from(`${MB.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
      : chunk
    let sent = 0
    let answer = ''
    let done = false
    let error: string | undefined
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), sent, ...(error ? { error } : {}) })
    }
    if (opts.readAfterSending) socket.pause()
    socket.on('data', (data) => {
      answer += data.toString('latin1')
      if (answer.includes('\r\n\r\n')) finish()
    })
    socket.on('error', (err) => {
      error = err.message
      finish()
    })
    socket.on('close', finish)
    socket.write(
      `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
        (opts.chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${total}\r\n`) +
        '\r\n',
    )
    const pump = () => {
      while (sent < total && !done) {
        sent += chunk.length
        if (!socket.write(framed)) return void socket.once('drain', pump)
      }
      if (sent >= total && !done && opts.chunked) socket.write('0\r\n\r\n')
      if (sent >= total) socket.resume()
    }
    pump()
  })
}

describe('body limits', () => {
  let cluster: Cluster
  let t: TestApp
  beforeAll(async () => {
    ;[cluster, t] = await Promise.all([startCluster(), createTestApp()])
  })
  afterAll(async () => {
    await Promise.all([cluster?.stop(), t?.close()])
  })

  const senders = [
    { chunked: false, readAfterSending: false, name: 'Content-Length, reading while sending' },
    { chunked: true, readAfterSending: false, name: 'chunked, reading while sending' },
    { chunked: false, readAfterSending: true, name: 'Content-Length, reading only after sending it all' },
    { chunked: true, readAfterSending: true, name: 'chunked, reading only after sending it all' },
  ]
  for (const sender of senders) {
    securityCase(
      `a 200 MB unauthenticated POST /agent/enroll (${sender.name}) gets 413, master RSS +<64 MB`,
      async () => {
        const pid = cluster.master.child.pid!
        // Warm the enrollment route up so its first-use allocations are not counted as the body's.
        await fetch(`${cluster.url}/agent/enroll`, { method: 'POST', body: '{}' })
        const before = processMemory(pid)
        const sampler = sampleRss(pid)
        const res = await sendLargeBody(`${cluster.url}/agent/enroll`, BODY, sender)
        await new Promise((r) => setTimeout(r, 300))
        const peakRss = sampler.stop()
        const after = processMemory(pid)
        const growth = Math.max(after.hwm - before.hwm, peakRss - before.rss)
        process.stdout.write(
          `enroll (${sender.name}): status ${res.status}${res.error ? ` (${res.error})` : ''}, ` +
            `sent ${Math.round(res.sent / MB)} MB, RSS ${Math.round(before.rss / MB)} → peak ` +
            `${Math.round(peakRss / MB)} MB, VmHWM ${Math.round(before.hwm / MB)} → ${Math.round(after.hwm / MB)} MB\n`,
        )
        // The master answers 413 and then drains what is still coming (a lingering close), so the answer reaches
        // the sender even while it is still streaming; a reset before the answer was read fails here.
        expect({ status: res.status, error: res.error }).toEqual({ status: 413, error: undefined })
        if (!sender.readAfterSending) expect(res.sent).toBeLessThan(BODY / 4)
        expect(growth).toBeLessThan(64 * MB)
        // The master still answers.
        expect((await fetch(`${cluster.url}/health`)).status).toBe(200)
      },
      120_000,
    )
  }

  securityCase('every route refuses an oversized body with 413 before authentication', async () => {
    const routes = t.app.routes.filter((r) => r.method !== 'ALL')
    expect(routes.length).toBeGreaterThan(10)
    const big = 'x'.repeat(256 * 1024 + 1)
    for (const r of routes) {
      const path = r.path.replace(/:[a-z]+/gi, '00000000-0000-4000-8000-000000000000')
      if (r.method === 'GET' || r.method === 'HEAD') continue // fetch cannot send a body with these
      const res = await t.app.request(path, {
        method: r.method,
        headers: { 'Content-Type': 'application/vnd.api+json' },
        body: big,
      })
      expect(res.status, `${r.method} ${r.path}`).toBe(413)
    }
  })
})
