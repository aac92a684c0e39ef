import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { imageRefSchema } from '@alfa/protocol'
import type { Context } from 'hono'
import { Invalid } from '../errors.ts'
import type { AppEnv } from '../http/app-env.ts'
import { resourceDocument } from '../http/jsonapi.ts'
import { sendDocument } from '../http/respond.ts'
import { commonErrorResponses, errorDocumentSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { operationDocumentSchema } from '../operations/operation-routes.ts'
import { operationResource } from '../operations/operation-serializer.ts'
import type { Operation } from '../generated/prisma/client.ts'
import type { DryRun, FleetService } from './fleet-service.ts'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const flag = z.enum(['0', '1', 'true', 'false']).optional()
const on = (value: string | undefined) => value === '1' || value === 'true'
const image = z.string().max(300).pipe(imageRefSchema)
const serverId = z.uuid().openapi({ param: { name: 'id', in: 'path' } })

const responses = {
  200: {
    description: 'Dry run: the plan (and for deploy the difference), nothing changed',
    content: { [JSONAPI]: { schema: z.unknown() } },
  },
  202: {
    description: 'Started: the parent operation (its result counts children per status)',
    content: { [JSONAPI]: { schema: operationDocumentSchema } },
  },
  404: err('No such server'),
  409: err('A fleet operation already runs on this server (meta.operationId)'),
  503: err('The agent is offline (code agent_offline)'),
  ...commonErrorResponses,
}

/**
 * The seed's fleet routes, exactly as written (`/server/{id}/…`, singular) and under `/servers/{id}/…`, with GET as
 * the seed writes them and POST. A real run answers 202 with the parent operation; `?dryRun=1` answers 200 at once.
 */
export function fleetRoutes(deps: { fleet: FleetService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  const started = (c: Context<AppEnv>, op: Operation) => {
    c.header('Location', `/operations/${op.id}`)
    return sendDocument(c, resourceDocument(operationResource(op)), 202)
  }
  const planned = (c: Context<AppEnv>, kind: string, id: string, plan: DryRun) =>
    sendDocument(
      c,
      resourceDocument({ type: 'fleet-plans', id: `${kind}:${id}`, attributes: { kind, dryRun: true, ...plan } }),
    )

  for (const base of ['/server', '/servers']) {
    for (const method of ['get', 'post'] as const) {
      app.openapi(
        createRoute({
          method,
          path: `${base}/{id}/deploy`,
          tags: ['fleet'],
          summary: "Recreate every client's configuration from the records, restart in waves with health checks",
          request: { params: z.object({ id: serverId }), query: z.object({ dryRun: flag, migrate: flag }) },
          responses,
        }),
        async (c) => {
          const { id } = c.req.valid('param')
          const q = c.req.valid('query')
          const out = await deps.fleet.deploy(id, { dryRun: on(q.dryRun), migrate: on(q.migrate) }, c.get('adminUser'))
          return 'dryRun' in out ? planned(c, 'server.deploy', id, out.dryRun) : started(c, out.operation)
        },
      )
      const switchAll = async (c: Context<AppEnv>, id: string, target: string | undefined, dry: boolean) => {
        if (!target)
          throw new Invalid([{ parameter: 'image', detail: 'image: the image to switch to is required' }], 400)
        const out = await deps.fleet.switchAll(id, target, { dryRun: dry }, c.get('adminUser'))
        return 'dryRun' in out ? planned(c, 'server.switch_all', id, out.dryRun) : started(c, out.operation)
      }
      app.openapi(
        createRoute({
          method,
          path: `${base}/{id}/switch_all/{image}`,
          tags: ['fleet'],
          summary: 'Switch every client of the server to an image (canary, waves, failure limit, rollback each)',
          request: {
            params: z.object({ id: serverId, image: image.openapi({ param: { name: 'image', in: 'path' } }) }),
            query: z.object({ dryRun: flag }),
          },
          responses,
        }),
        (c) => switchAll(c, c.req.valid('param').id, c.req.valid('param').image, on(c.req.valid('query').dryRun)),
      )
      app.openapi(
        createRoute({
          method,
          path: `${base}/{id}/switch_all`,
          tags: ['fleet'],
          summary: 'switch_all with the image as ?image=',
          request: { params: z.object({ id: serverId }), query: z.object({ image: image.optional(), dryRun: flag }) },
          responses,
        }),
        (c) => switchAll(c, c.req.valid('param').id, c.req.valid('query').image, on(c.req.valid('query').dryRun)),
      )
      app.openapi(
        createRoute({
          method,
          path: `${base}/{id}/migrate_all`,
          tags: ['fleet'],
          summary: "Run every active client's migrations, continuing past failures",
          request: { params: z.object({ id: serverId }) },
          responses,
        }),
        async (c) => started(c, (await deps.fleet.migrateAll(c.req.valid('param').id, c.get('adminUser'))).operation),
      )
    }
  }
  return app
}
