// A closed-loop HTTP load: `concurrency` requests in flight over keep-alive sockets, each timed from request start
// to the end of the response body. node:http rather than fetch, whose own overhead would blur sub-millisecond figures.
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { summarize, type LatencySummary } from './stats.ts'

export interface LoadResult {
  latency: LatencySummary
  statuses: Record<string, number>
  seconds: number
  rps: number
}

export async function runLoad(opts: {
  baseUrl: string
  /** The path of request i (lets the caller spread requests over servers). */
  path: (i: number) => string
  count: number
  concurrency: number
  headers?: Record<string, string>
  /** A request taking longer than this counts as status "timeout". */
  timeoutMs?: number
}): Promise<LoadResult> {
  const url = new URL(opts.baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency })
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let next = 0
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now()
      const done = (status: string) => {
        statuses[status] = (statuses[status] ?? 0) + 1
        if (status === '200') latencies.push(performance.now() - t0)
        resolve()
      }
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: opts.path(i),
          agent,
          headers: opts.headers,
          timeout: opts.timeoutMs ?? 30_000,
        },
        (res) => {
          res.resume()
          res.on('end', () => done(String(res.statusCode)))
          res.on('error', (err) => done(err.message))
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
      req.end()
    })
  const started = performance.now()
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.count) await one(next++)
    }),
  )
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return {
    latency: summarize(latencies),
    statuses,
    seconds: Math.round(seconds * 100) / 100,
    rps: Math.round(opts.count / seconds),
  }
}
