import { createRoute, OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument, resourceDocument } from '../http/jsonapi.ts'
import { pageOf, parseSort } from '../http/list-query.ts'
import { sendDocument, sendNoContent } from '../http/respond.ts'
import { commonErrorResponses, errorDocumentSchema, idParamSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { serverCollectionDocument, serverDocument, serverListQuery, serverWriteDocument } from './server-schemas.ts'
import { serverResource } from './server-serializer.ts'
import type { ServerService } from './server-service.ts'
import type { AgentCredentials } from '../agent-hub/agent-credentials.ts'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { MetricsStore } from '../metrics/metrics-store.ts'
import { enrollmentMeta } from './enrollment-meta.ts'

const JSONAPI = 'application/vnd.api+json'
const doc = (schema: typeof serverDocument | typeof serverCollectionDocument, description: string) => ({
  description,
  content: { [JSONAPI]: { schema } },
})
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })

const listServers = createRoute({
  method: 'get',
  path: '/servers',
  tags: ['servers'],
  summary: 'List servers (active ones unless filter[active] says otherwise)',
  request: { query: serverListQuery },
  responses: { 200: doc(serverCollectionDocument, 'Servers'), ...commonErrorResponses },
})
const getServer = createRoute({
  method: 'get',
  path: '/servers/{id}',
  tags: ['servers'],
  summary: 'One server with its agent state and latest load',
  request: { params: idParamSchema },
  responses: { 200: doc(serverDocument, 'The server'), 404: err('No such server'), ...commonErrorResponses },
})
const writeServer = createRoute({
  method: 'post',
  path: '/servers',
  tags: ['servers'],
  summary: 'Create a server, or update it when data.id is given',
  request: { body: { required: true, content: { [JSONAPI]: { schema: serverWriteDocument } } } },
  responses: {
    200: doc(serverDocument, 'Updated'),
    201: doc(serverDocument, 'Created'),
    404: err('Update of an unknown server'),
    409: err('Name taken'),
    415: err('Not JSON'),
    422: err('Invalid attributes'),
    ...commonErrorResponses,
  },
})
const deleteServer = createRoute({
  method: 'delete',
  path: '/servers/{id}',
  tags: ['servers'],
  summary: 'Remove the server record (refused while clients live there)',
  request: { params: idParamSchema },
  responses: {
    204: { description: 'Removed' },
    404: err('No such server'),
    409: err('Clients still on the server'),
    ...commonErrorResponses,
  },
})

const enrollRoute = createRoute({
  method: 'post',
  path: '/servers/{id}/enrollment',
  tags: ['servers'],
  summary: 'Issue a new one-time enrollment token; revokes the current agent credential and disconnects the agent',
  request: { params: idParamSchema },
  responses: {
    201: doc(serverDocument, 'Server with meta.enrollment'),
    404: err('No such server'),
    ...commonErrorResponses,
  },
})

export interface ServerRouteDeps {
  servers: ServerService
  hub: AgentHub
  metrics: MetricsStore
  agentCredentials: AgentCredentials
  /** URL agents use to reach this master; the request's origin when not configured. */
  publicUrl?: string
}

/** Thin routes: validate, call the service, serialise. */
export function serverRoutes(deps: ServerRouteDeps) {
  /** meta.enrollment for a token issued by the request to `url`: the master URL configured, else its origin. */
  const enrollment = (issued: Parameters<typeof enrollmentMeta>[0], url: string) =>
    enrollmentMeta(issued, deps.publicUrl ?? new URL(url).origin, deps.publicUrl !== undefined)
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })

  app.openapi(listServers, async (c) => {
    const q = c.req.valid('query')
    const page = pageOf(q)
    const { rows, total } = await deps.servers.list({
      active: q['filter[active]'] ?? 'true',
      role: q['filter[role]'],
      online: q['filter[online]'],
      page,
      sort: parseSort(q.sort, 'name'),
    })
    return sendDocument(
      c,
      collectionDocument(
        rows.map((r) =>
          serverResource(r, {
            online: deps.hub.isOnline(r.id) || r.online,
            agentVersion: deps.hub.agentVersion(r.id),
            headline: deps.metrics.headline(r.id),
          }),
        ),
        { url: new URL(c.req.url), page, total },
      ),
    )
  })

  app.openapi(getServer, async (c) => {
    const row = await deps.servers.get(c.req.valid('param').id)
    return sendDocument(
      c,
      resourceDocument(
        serverResource(row, {
          latest: deps.metrics.latest(row.id),
          online: deps.hub.isOnline(row.id) || row.online,
          agentVersion: deps.hub.agentVersion(row.id),
        }),
      ),
    )
  })

  app.openapi(writeServer, async (c) => {
    const { data } = c.req.valid('json')
    if (data.id)
      return sendDocument(c, resourceDocument(serverResource(await deps.servers.update(data.id, data.attributes))))
    const row = await deps.servers.create(data.attributes)
    const issued = await deps.agentCredentials.issueToken(row.id)
    c.header('Location', `/servers/${row.id}`)
    return sendDocument(c, resourceDocument(serverResource(row), enrollment(issued, c.req.url)), 201)
  })

  app.openapi(deleteServer, async (c) => {
    await deps.servers.remove(c.req.valid('param').id)
    return sendNoContent(c)
  })

  app.openapi(enrollRoute, async (c) => {
    const id = c.req.valid('param').id
    const row = await deps.servers.get(id)
    await deps.agentCredentials.revokeCredentials(id)
    deps.hub.disconnect(id, 'credential revoked')
    const issued = await deps.agentCredentials.issueToken(id)
    return sendDocument(c, resourceDocument(serverResource(row), enrollment(issued, c.req.url)), 201)
  })

  return app
}
