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
import type { OperationService } from './operation-service.ts'
import { operationResource } from './operation-serializer.ts'

const JSONAPI = 'application/vnd.api+json'

const operationAttributes = z.object({
  type: z.string(),
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
  lastSeq: z.number().int(),
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

export const operationDocumentSchema = resourceDocumentSchema('operations', operationAttributes).openapi('Operation')

const listQuery = listQuerySchema({
  sortable: ['createdAt', 'type', 'status'],
  filters: {
    server: z.uuid(),
    client: z.uuid(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'interrupted']),
    type: z.string().regex(/^[a-z_.]{1,64}$/),
  },
})

const listRoute = createRoute({
  method: 'get',
  path: '/operations',
  tags: ['operations'],
  summary: 'Operations, newest first, filterable by server, client, status and type',
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

/** GET /operations and GET /operations/{id}. */
export function operationRoutes(deps: { operations: OperationService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query')
    const page = pageOf(q)
    const { rows, total } = await deps.operations.list({
      filter: {
        serverId: q['filter[server]'],
        clientId: q['filter[client]'],
        status: q['filter[status]'],
        type: q['filter[type]'],
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
    return sendDocument(c, resourceDocument(operationResource(op)))
  })
  return app
}
