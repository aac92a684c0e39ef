import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../http/app-env.ts'
import { resourceDocument } from '../http/jsonapi.ts'
import { sendDocument } from '../http/respond.ts'
import { commonErrorResponses, errorDocumentSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { operationDocumentSchema } from '../operations/operation-routes.ts'
import { operationResource } from '../operations/operation-serializer.ts'
import type { MoveService } from './move-service.ts'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const responses = {
  202: {
    description: 'Started: the operation (poll /operations/{id}); its result names the new address',
    content: { [JSONAPI]: { schema: operationDocumentSchema } },
  },
  404: err('No such client or server'),
  409: err(
    'Another operation runs on this client (meta.operationId), the client is not active, or already there; ' +
      'agent_outdated: an agent does not announce the payload fields a move sends (meta.serverId, meta.missing)',
  ),
  422: err('copy_to a server whose role is not stage, or an invalid slug / domain'),
  503: err('The agent of the source or the target is offline'),
  ...commonErrorResponses,
}
const params = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }),
  server_id: z.uuid().openapi({ param: { name: 'server_id', in: 'path' } }),
})
const copyQuery = z.object({
  /** The copy's slug; `<origin slug>-stage` when absent. */
  slug: z.string().max(64).optional(),
  /** The copy's domain; `<slug>.<stage server's base domain>` when absent. */
  domain: z.string().max(253).optional(),
})

/** The seed's move_to and copy_to: GET as the seed writes them, and POST. */
export function moveRoutes(deps: { moves: MoveService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  for (const method of ['get', 'post'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/clients/{id}/move_to/{server_id}',
        tags: ['client actions'],
        summary: 'Move the client to another server (stage, freeze, final dump, restore, verify, switch, forward)',
        request: { params },
        responses,
      }),
      async (c) => {
        const { id, server_id } = c.req.valid('param')
        const op = await deps.moves.move(id, server_id, c.get('adminUser'))
        c.header('Location', `/operations/${op.id}`)
        return sendDocument(c, resourceDocument(operationResource(op)), 202)
      },
    )
    app.openapi(
      createRoute({
        method,
        path: '/clients/{id}/copy_to/{server_id}',
        tags: ['client actions'],
        summary: "Set up a copy of the client's environment and database on a stage server",
        request: { params, query: copyQuery },
        responses,
      }),
      async (c) => {
        const { id, server_id } = c.req.valid('param')
        const q = c.req.valid('query')
        const opts = { ...(q.slug ? { slug: q.slug } : {}), ...(q.domain ? { domain: q.domain } : {}) }
        const op = await deps.moves.copy(id, server_id, opts, c.get('adminUser'))
        c.header('Location', `/operations/${op.id}`)
        return sendDocument(c, resourceDocument(operationResource(op)), 202)
      },
    )
  }
  return app
}
