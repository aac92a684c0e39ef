import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import type { AppEnv } from '../http/app-env.ts'
import { sendDocument } from '../http/respond.ts'
import { commonErrorResponses, errorDocumentSchema, idParamSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import type { MetricsStore } from '../metrics/metrics-store.ts'
import type { ServerService } from './server-service.ts'
import { Invalid } from '../errors.ts'

const JSONAPI = 'application/vnd.api+json'
const instant = z
  .string()
  .max(40)
  .refine(
    (v) => /^\d{10,13}$/.test(v) || !Number.isNaN(Date.parse(v)),
    'an ISO 8601 time or milliseconds since the epoch',
  )
const toMs = (v: string) => (/^\d{10,13}$/.test(v) ? Number(v) : Date.parse(v))

const historyRoute = createRoute({
  method: 'get',
  path: '/servers/{id}/metrics',
  tags: ['monitoring'],
  summary: 'Load history: raw samples from memory for recent windows, per-minute rollups (kept 30 days) beyond',
  request: {
    params: idParamSchema,
    query: z.strictObject({
      from: instant.optional(),
      to: instant.optional(),
      /** Bucket size in seconds; raw samples when below 60 and the window is still in memory. */
      step: z
        .string()
        .regex(/^\d{1,7}$/, 'seconds')
        .transform(Number)
        .pipe(
          z
            .number()
            .int()
            .min(1)
            .max(86_400 * 7),
        )
        .optional(),
    }),
  },
  responses: {
    200: {
      description: 'Points',
      content: {
        [JSONAPI]: {
          schema: z.object({
            data: z.object({
              type: z.literal('metrics'),
              id: z.string(),
              attributes: z.object({
                source: z.enum(['raw', 'rollup']),
                step: z.number(),
                points: z.array(z.record(z.string(), z.unknown())),
              }),
            }),
          }),
        },
      },
    },
    404: { description: 'No such server', content: { [JSONAPI]: { schema: errorDocumentSchema } } },
    ...commonErrorResponses,
  },
})

const streamRoute = createRoute({
  method: 'get',
  path: '/servers/{id}/metrics/stream',
  tags: ['monitoring'],
  summary: 'Live load samples as Server-Sent Events (event "metrics"), starting with the latest',
  request: { params: idParamSchema },
  responses: {
    200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } },
    404: { description: 'No such server', content: { [JSONAPI]: { schema: errorDocumentSchema } } },
  },
})

type Point = Record<string, number>

/** Averages raw samples into buckets of `stepMs` (CPU and load averaged, gauges and counters take the last value). */
function bucket(samples: Point[], stepMs: number, avg: string[]): Point[] {
  const out = new Map<number, { n: number; p: Point }>()
  for (const s of samples) {
    const key = Math.floor(s.ts! / stepMs) * stepMs
    const b = out.get(key)
    if (!b) {
      out.set(key, { n: 1, p: { ...s, ts: key } })
      continue
    }
    b.n++
    for (const k of Object.keys(s)) if (k !== 'ts') b.p[k] = avg.includes(k) ? b.p[k]! + (s[k]! - b.p[k]!) / b.n : s[k]!
  }
  return [...out.values()].map((b) => b.p)
}

/** Samples one metrics stream may hold for a slow reader before it is closed (a few minutes of one server's samples). */
export const MAX_STREAM_QUEUE = 64

/** GET /servers/{id}/metrics and /servers/{id}/metrics/stream. */
export function serverMetricsRoutes(deps: { metrics: MetricsStore; servers: ServerService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })

  app.openapi(historyRoute, async (c) => {
    const id = c.req.valid('param').id
    await deps.servers.get(id)
    const q = c.req.valid('query')
    const to = q.to ? toMs(q.to) : Date.now()
    const from = q.from ? toMs(q.from) : to - 3600_000
    if (from >= to) throw new Invalid([{ parameter: 'from', detail: 'from must be before to' }], 400)
    const raw = deps.metrics.raw(id, from, to)
    const wantRaw = (q.step ?? 0) < 60 && raw.covers
    if (wantRaw) {
      const points = raw.samples.map((s) => ({ ...s }))
      const step = q.step ?? 0
      return sendDocument(c, {
        data: {
          type: 'metrics',
          id,
          attributes: {
            source: 'raw',
            step,
            from,
            to,
            points: step ? bucket(points, step * 1000, ['cpu', 'load1']) : points,
          },
        },
      })
    }
    const step = Math.max(60, Math.round((q.step ?? 60) / 60) * 60)
    const rows = await deps.metrics.rollups(id, from, to)
    const points = rows.map((r) => ({
      ts: r.minute.getTime(),
      cpu: r.cpuAvg,
      cpuMax: r.cpuMax,
      load1: r.load1,
      samples: r.samples,
      memUsed: Number(r.memUsedBytes),
      memTotal: Number(r.memTotalBytes),
      diskUsed: Number(r.diskUsedBytes),
      diskTotal: Number(r.diskTotalBytes),
      rxBytes: Number(r.netRxBytes),
      txBytes: Number(r.netTxBytes),
    }))
    return sendDocument(c, {
      data: {
        type: 'metrics',
        id,
        attributes: {
          source: 'rollup',
          step,
          from,
          to,
          points: step > 60 ? bucket(points, step * 1000, ['cpu', 'load1']) : points,
        },
      },
    })
  })

  app.openapi(streamRoute, async (c) => {
    const id = c.req.valid('param').id
    await deps.servers.get(id)
    return streamSSE(c, async (stream) => {
      let seq = 0
      // A consumer that reads slower than samples arrive is closed once MAX_STREAM_QUEUE samples wait for it: the
      // queue of one stream never grows past that, however slow or stalled the reader (it can reconnect).
      const queue: unknown[] = []
      let overflowed = false
      let wake: (() => void) | undefined
      const latest = deps.metrics.latest(id)
      if (latest) queue.push(latest)
      const unsubscribe = deps.metrics.subscribe(id, (s) => {
        if (queue.length >= MAX_STREAM_QUEUE) {
          overflowed = true
          unsubscribe()
          stream.abort()
        } else queue.push(s)
        wake?.()
      })
      stream.onAbort(() => {
        unsubscribe()
        wake?.()
      })
      try {
        while (!stream.aborted && !overflowed) {
          while (queue.length && !overflowed)
            await stream.writeSSE({ event: 'metrics', id: String(++seq), data: JSON.stringify(queue.shift()) })
          // A comment line every 15 s keeps proxies from closing an idle stream.
          await new Promise<void>((r) => {
            wake = r
            setTimeout(r, 15_000).unref()
          })
          wake = undefined
          if (!queue.length && !stream.aborted && !overflowed) await stream.write(': keep-alive\n\n')
        }
      } finally {
        queue.length = 0
        unsubscribe()
      }
    })
  })
  return app
}
