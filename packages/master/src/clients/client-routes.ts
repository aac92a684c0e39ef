import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument, resourceDocument } from '../http/jsonapi.ts'
import { pageOf, parseSort } from '../http/list-query.ts'
import { sendDocument } from '../http/respond.ts'
import {
  collectionDocumentSchema,
  commonErrorResponses,
  errorDocumentSchema,
  idParamSchema,
  resourceDocumentSchema,
} from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { logLineOut } from '../operations/operation-serializer.ts'
import { operationResource } from '../operations/operation-serializer.ts'
import { clientAttributesSchema, clientListQuery, clientWriteDocument } from './client-schemas.ts'
import { clientResource } from './client-serializer.ts'
import type { ClientService } from './client-service.ts'
import type { ClientActions } from './client-actions.ts'
import type { OperationError, OperationStep } from '../operations/operation-service.ts'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const clientDoc = resourceDocumentSchema('clients', clientAttributesSchema).openapi('Client')
const ok = (description: string) => ({ description, content: { [JSONAPI]: { schema: clientDoc } } })

const createLogAttributes = z.object({
  status: z.string(),
  /** The seed's end marker: null while running, "ok" or "error" at the end. */
  completed: z.enum(['ok', 'error']).nullable(),
  failedStep: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  steps: z.array(z.object({ name: z.string(), status: z.string() })),
  log: z.array(
    z.object({
      seq: z.number(),
      ts: z.string(),
      stream: z.string(),
      level: z.string(),
      step: z.string().nullable(),
      message: z.string(),
    }),
  ),
})

const routes = {
  list: createRoute({
    method: 'get',
    path: '/clients',
    tags: ['clients'],
    summary: 'Clients with status, availability, users count and a direct URL',
    request: { query: clientListQuery },
    responses: {
      200: {
        description: 'Clients',
        content: { [JSONAPI]: { schema: collectionDocumentSchema('clients', clientAttributesSchema) } },
      },
      ...commonErrorResponses,
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/clients/{id}',
    tags: ['clients'],
    summary: 'One client with its recent operations (meta.operations)',
    request: { params: idParamSchema },
    responses: { 200: ok('The client'), 404: err('No such client'), ...commonErrorResponses },
  }),
  write: createRoute({
    method: 'post',
    path: '/clients',
    tags: ['clients'],
    summary: 'Create a client (202 at once, poll create_log); with data.id, update it',
    request: { body: { required: true, content: { [JSONAPI]: { schema: clientWriteDocument } } } },
    responses: {
      200: ok('Updated'),
      202: ok('Creating, or moving to a new domain: meta.operation names the operation'),
      404: err('Update of an unknown client'),
      409: err('Slug or domain taken, no capacity, or a running operation'),
      415: err('Not JSON'),
      422: err('Invalid attributes'),
      503: err("The chosen server's agent is offline"),
      ...commonErrorResponses,
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/clients/{id}',
    tags: ['clients'],
    summary: "Remove the client's container, site and database (after a final dump kept on the server)",
    request: { params: idParamSchema },
    responses: {
      200: ok('Already deleted: nothing to do'),
      202: ok('Deleting: meta.operation'),
      404: err('No such client'),
      409: err('A running operation'),
      503: err('Agent offline'),
      ...commonErrorResponses,
    },
  }),
  createLog: createRoute({
    method: 'get',
    path: '/clients/{id}/create_log',
    tags: ['clients'],
    summary: 'The creation log, for polling on a timer (since = last seq seen)',
    request: {
      params: idParamSchema,
      query: z.strictObject({
        since: z
          .string()
          .regex(/^\d{1,9}$/, 'a sequence number')
          .transform(Number)
          .optional(),
      }),
    },
    responses: {
      200: {
        description: 'The log',
        content: { [JSONAPI]: { schema: resourceDocumentSchema('create-logs', createLogAttributes) } },
      },
      404: err('No such client'),
      ...commonErrorResponses,
    },
  }),
}

/** The seed's client routes: thin, validate → service → JSON:API. */
export function clientRoutes(deps: { clients: ClientService; actions: ClientActions }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  const operationMeta = (op: { id: string }) => ({ operation: { id: op.id, links: { self: `/operations/${op.id}` } } })

  app.openapi(routes.list, async (c) => {
    const q = c.req.valid('query')
    const page = pageOf(q)
    const { rows, total } = await deps.clients.list({
      filter: { serverId: q['filter[server]'], status: q['filter[status]'], q: q['filter[q]'] },
      page,
      sort: parseSort(q.sort, 'name'),
    })
    return sendDocument(
      c,
      collectionDocument(
        rows.map((r) => clientResource(r)),
        { url: new URL(c.req.url), page, total },
      ),
    )
  })

  app.openapi(routes.get, async (c) => {
    const client = await deps.clients.get(c.req.valid('param').id)
    const recent = await deps.clients.recentOperations(client.id)
    return sendDocument(
      c,
      resourceDocument(clientResource(client, { operations: recent.map((o) => operationResource(o)) })),
    )
  })

  app.openapi(routes.write, async (c) => {
    const { data } = c.req.valid('json')
    if (data.id) {
      const by = c.get('adminUser')
      const { client, domainChange, settingsChange, limitsChange } = await deps.clients.update(
        data.id,
        data.attributes,
        by,
      )
      if (domainChange) {
        // The configure that moves the site also writes the settings and limits as now recorded.
        const operation = await deps.actions.changeDomain(client.id, domainChange, by, { limits: limitsChange })
        return sendDocument(c, resourceDocument(clientResource(client, operationMeta(operation))), 202)
      }
      if (!settingsChange && !limitsChange) return sendDocument(c, resourceDocument(clientResource(client)))
      // Recorded already; the answer names the operation applying it, and what waits and why (as expire_date does).
      const { operation, pending } = await deps.actions.applyUpdate(
        client.id,
        { settings: settingsChange, limits: limitsChange },
        by,
      )
      const meta = { ...(operation ? operationMeta(operation) : {}), ...(pending ? { pending } : {}) }
      return sendDocument(c, resourceDocument(clientResource(client, meta)))
    }
    const { client, operation } = await deps.clients.create(data.attributes, c.get('adminUser'))
    c.header('Location', `/clients/${client.id}`)
    return sendDocument(c, resourceDocument(clientResource(client, operationMeta(operation))), 202)
  })

  app.openapi(routes.remove, async (c) => {
    const { client, operation } = await deps.clients.remove(c.req.valid('param').id, c.get('adminUser'))
    if (!operation) return sendDocument(c, resourceDocument(clientResource(client)))
    return sendDocument(c, resourceDocument(clientResource(client, operationMeta(operation))), 202)
  })

  app.openapi(routes.createLog, async (c) => {
    const op = await deps.clients.createLog(c.req.valid('param').id, c.req.valid('query').since ?? 0)
    const error = op.error as OperationError | null
    const steps = op.steps as unknown as OperationStep[]
    const failedStep =
      op.status === 'succeeded' ? null : (error?.step ?? steps.find((s) => s.status === 'failed')?.name ?? null)
    return sendDocument(
      c,
      resourceDocument({
        type: 'create-logs',
        id: op.id,
        attributes: {
          status: op.status,
          completed:
            op.status === 'succeeded' ? 'ok' : op.status === 'failed' || op.status === 'interrupted' ? 'error' : null,
          failedStep,
          error: error ? { code: error.code, message: error.message } : null,
          steps: steps.map((s) => ({ name: s.name, status: s.status })),
          log: op.logs.map(logLineOut),
        },
        links: { self: `/clients/${op.clientId}/create_log` },
      }),
    )
  })

  return app
}
