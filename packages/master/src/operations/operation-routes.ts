import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument, resourceDocument } from '../http/jsonapi.ts'
import { listQuerySchema, pageOf, parseSort } from '../http/list-query.ts'
import { sendDocument } from '../http/respond.ts'
import {
  collectionDocumentSchema,
  commonErrorResponses,
  errorDocumentSchema,
  idParamSchema,
  resourceDocumentSchema,
} from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { ALL_KIND_NAMES } from './operation-kinds.ts'
import type { OperationService } from './operation-service.ts'
import type { ParentRunner } from './parent-runner.ts'
import { operationResource } from './operation-serializer.ts'

const JSONAPI = 'application/vnd.api+json'

const linkage = z.object({ type: z.literal('operations'), id: z.string() })

const operationAttributes = z.object({
  kind: z.enum(ALL_KIND_NAMES),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'interrupted']),
  serverId: z.string().nullable(),
  clientId: z.string().nullable(),
  requestedBy: z.string().nullable(),
  steps: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      startedAt: z.string().optional(),
      endedAt: z.string().optional(),
    }),
  ),
  result: z.unknown(),
  error: z.unknown(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  /** The child's place in its parent's plan. */
  childIndex: z.number().int().nullable(),
  lastSeq: z.number().int(),
  /** A parent's children: planned, not started yet, and per status. */
  progress: z
    .object({
      total: z.number().int(),
      notStarted: z.number().int(),
      queued: z.number().int(),
      running: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      interrupted: z.number().int(),
    })
    .optional(),
  log: z
    .array(
      z.object({
        seq: z.number().int(),
        ts: z.string(),
        stream: z.string(),
        level: z.string(),
        step: z.string().nullable(),
        message: z.string(),
      }),
    )
    .optional(),
})

export const operationDocumentSchema = resourceDocumentSchema('operations', operationAttributes)
  .extend({
    data: resourceDocumentSchema('operations', operationAttributes).shape.data.extend({
      relationships: z.object({
        parent: z.object({ data: linkage.nullable() }),
        children: z.object({ data: z.array(linkage) }).optional(),
      }),
    }),
    /** A parent's children, with their results. */
    included: z
      .array(z.object({ type: z.literal('operations'), id: z.string(), attributes: operationAttributes }))
      .optional(),
  })
  .openapi('Operation')

/** The request header of the routes that start an operation: wait for its end (RFC 7240), see operation-answer.ts. */
export const preferWaitHeaders = z.object({
  prefer: z
    .string()
    .optional()
    .openapi({
      description:
        '`wait=<seconds>` (at most 60): answer once the operation ended (200) or the wait ran out (202). ' +
        'Other preferences, and a wait in another form, are ignored.',
      example: 'wait=30',
    }),
})

/** Says the wait of `Prefer` was honoured (RFC 7240 §3). */
export const preferenceAppliedHeader = z.object({
  'Preference-Applied': z.string().optional().openapi({ example: 'wait=30' }),
})

const listQuery = listQuerySchema({
  sortable: ['createdAt', 'kind', 'status'],
  filters: {
    server: z.uuid(),
    client: z.uuid(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'interrupted']),
    kind: z.enum(ALL_KIND_NAMES),
  },
})

const listRoute = createRoute({
  method: 'get',
  path: '/operations',
  tags: ['operations'],
  summary: 'Operations, newest first, filterable by server, client, status and kind',
  request: { query: listQuery },
  responses: {
    200: {
      description: 'Operations',
      content: { [JSONAPI]: { schema: collectionDocumentSchema('operations', operationAttributes) } },
    },
    ...commonErrorResponses,
  },
})

const getRoute = createRoute({
  method: 'get',
  path: '/operations/{id}',
  tags: ['operations'],
  summary: 'One operation with its steps and log lines after `since`',
  request: {
    params: idParamSchema,
    query: z.strictObject({
      since: z
        .string()
        .regex(/^\d{1,9}$/)
        .transform(Number)
        .optional(),
    }),
  },
  responses: {
    200: { description: 'The operation', content: { [JSONAPI]: { schema: operationDocumentSchema } } },
    404: { description: 'No such operation', content: { [JSONAPI]: { schema: errorDocumentSchema } } },
    ...commonErrorResponses,
  },
})

const cancelRoute = createRoute({
  method: 'post',
  path: '/operations/{id}/cancel',
  tags: ['operations'],
  summary: 'Cancels a parent operation: no new child starts; running ones finish, then it ends interrupted or failed',
  request: { params: idParamSchema },
  responses: {
    200: { description: 'The operation', content: { [JSONAPI]: { schema: operationDocumentSchema } } },
    404: { description: 'No such operation', content: { [JSONAPI]: { schema: errorDocumentSchema } } },
    409: { description: 'Not a parent, or already ended', content: { [JSONAPI]: { schema: errorDocumentSchema } } },
    ...commonErrorResponses,
  },
})

/** An operation as a document: a parent includes its children (their status, result and error). */
export function operationDocument(op: Awaited<ReturnType<OperationService['get']>>) {
  const included = op.plan !== null ? op.children.map((c) => operationResource(c)) : undefined
  return resourceDocument(operationResource(op), undefined, included)
}

/** GET /operations, GET /operations/{id} and POST /operations/{id}/cancel. */
export function operationRoutes(deps: { operations: OperationService; parents: ParentRunner }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query')
    const page = pageOf(q)
    const { rows, total } = await deps.operations.list({
      filter: {
        serverId: q['filter[server]'],
        clientId: q['filter[client]'],
        status: q['filter[status]'],
        kind: q['filter[kind]'],
      },
      page,
      sort: parseSort(q.sort, '-createdAt'),
    })
    return sendDocument(
      c,
      collectionDocument(
        rows.map((r) => operationResource(r)),
        { url: new URL(c.req.url), page, total },
      ),
    )
  })
  app.openapi(getRoute, async (c) => {
    const op = await deps.operations.get(c.req.valid('param').id, { since: c.req.valid('query').since })
    return sendDocument(c, operationDocument(op))
  })
  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param')
    await deps.parents.cancel(id, c.get('adminUser'))
    return sendDocument(c, operationDocument(await deps.operations.get(id)))
  })
  return app
}
