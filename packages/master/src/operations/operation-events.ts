import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import { NotFound } from '../errors.ts'
import type { AppEnv } from '../http/app-env.ts'
import { commonErrorResponses, errorDocumentSchema, idParamSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { childProgress } from './operation-serializer.ts'
import { FINAL_STATUSES } from './operation-service.ts'

const eventsRoute = createRoute({
  method: 'get',
  path: '/operations/{id}/events',
  tags: ['operations'],
  summary:
    'Server-Sent Events of one operation: "operation" (status, progress counts, result) and "child" (a child\'s ' +
    'status, steps and error) whenever they change, the current state first; "end" once it ended',
  request: { params: idParamSchema },
  responses: {
    200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } },
    404: { description: 'No such operation', content: { 'application/vnd.api+json': { schema: errorDocumentSchema } } },
    ...commonErrorResponses,
  },
})

const CHILD = {
  id: true,
  kind: true,
  status: true,
  clientId: true,
  childIndex: true,
  steps: true,
  error: true,
  updatedAt: true,
} as const

/**
 * GET /operations/{id}/events, so the Mol admin panel can draw a fleet's progress without polling. The stream reads
 * the rows every `pollMs` (what any replica wrote is seen, nothing lives in one process) and sends only what changed
 * since its last look; a slow reader slows its own reads, so nothing queues up for it. A reconnect starts with the
 * current state again.
 */
export function operationEventRoutes(deps: { prisma: PrismaClient; pollMs?: number }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  const pollMs = deps.pollMs ?? 500
  const read = (id: string) =>
    deps.prisma.operation.findUnique({
      where: { id },
      include: { children: { select: CHILD, orderBy: { childIndex: 'asc' } } },
    })

  app.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid('param')
    if (!(await read(id))) throw new NotFound('operation', id)
    return streamSSE(c, async (stream) => {
      const seen = new Map<string, string>()
      let seq = 0
      let quietSince = Date.now()
      const send = async (event: string, data: unknown) => {
        quietSince = Date.now()
        await stream.writeSSE({ event, id: String(++seq), data: JSON.stringify(data) })
      }
      while (!stream.aborted) {
        const op = await read(id)
        if (!op) return void (await send('end', { id, status: 'deleted' }))
        for (const child of op.children) {
          const stamp = `${child.status}|${child.updatedAt.toISOString()}`
          if (seen.get(child.id) === stamp) continue
          seen.set(child.id, stamp)
          await send('child', { ...child, parentId: id, updatedAt: child.updatedAt.toISOString() })
        }
        const stamp = `${op.status}|${op.updatedAt.toISOString()}`
        if (seen.get(id) !== stamp) {
          seen.set(id, stamp)
          await send('operation', {
            id,
            kind: op.kind,
            status: op.status,
            ...(op.plan !== null ? { progress: childProgress(op, op.children) } : {}),
            result: op.result,
            error: op.error,
            cancelledAt: op.cancelledAt?.toISOString() ?? null,
            finishedAt: op.finishedAt?.toISOString() ?? null,
          })
        }
        if (FINAL_STATUSES.includes(op.status)) return void (await send('end', { id, status: op.status }))
        // A comment line every 15 s keeps proxies from closing a quiet stream.
        if (Date.now() - quietSince > 15_000) {
          quietSince = Date.now()
          await stream.write(': keep-alive\n\n')
        }
        await stream.sleep(pollMs)
      }
    })
  })
  return app
}
