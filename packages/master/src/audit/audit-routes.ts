import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument } from '../http/jsonapi.ts'
import { listQuerySchema, pageOf } from '../http/list-query.ts'
import { sendDocument } from '../http/respond.ts'
import { collectionDocumentSchema, commonErrorResponses } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import type { AuditLog } from './audit-log.ts'

const JSONAPI = 'application/vnd.api+json'

const auditAttributes = z.object({
  at: z.string(),
  actor: z.string().nullable(),
  address: z.string(),
  method: z.string(),
  route: z.string(),
  targetId: z.string().nullable(),
  status: z.number().int(),
})

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s))

const listQuery = listQuerySchema({
  sortable: ['at'],
  filters: {
    actor: z.string().min(1).max(64),
    target: z.string().min(1).max(200),
    from: instant,
    to: instant,
  },
})

const listRoute = createRoute({
  method: 'get',
  path: '/audit',
  tags: ['admin'],
  summary: 'Changes made through the API (who, from where, what, result), newest first; never bodies or secrets',
  request: { query: listQuery },
  responses: {
    200: {
      description: 'Audit entries',
      content: { [JSONAPI]: { schema: collectionDocumentSchema('audit-entries', auditAttributes) } },
    },
    ...commonErrorResponses,
  },
})

/** GET /audit: filter[actor], filter[target], filter[from], filter[to] (ISO instants), paginated. */
export function auditRoutes(deps: { audit: AuditLog }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query')
    const page = pageOf(q)
    const { rows, total } = await deps.audit.list({
      filter: { actor: q['filter[actor]'], target: q['filter[target]'], from: q['filter[from]'], to: q['filter[to]'] },
      page,
      desc: q.sort !== 'at',
    })
    return sendDocument(
      c,
      collectionDocument(
        rows.map((r) => ({
          type: 'audit-entries',
          id: String(r.id),
          attributes: {
            at: r.at.toISOString(),
            actor: r.actor,
            address: r.address,
            method: r.method,
            route: r.route,
            targetId: r.targetId,
            status: r.status,
          },
        })),
        { url: new URL(c.req.url), page, total },
      ),
    )
  })
  return app
}
