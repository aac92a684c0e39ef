import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument, resourceDocument } from '../http/jsonapi.ts'
import { listQuerySchema, pageOf } from '../http/list-query.ts'
import { sendDocument } from '../http/respond.ts'
import { collectionDocumentSchema, commonErrorResponses, errorDocumentSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { operationDocumentSchema } from '../operations/operation-routes.ts'
import { operationResource } from '../operations/operation-serializer.ts'
import type { ImageBuilds } from './image-builds.ts'
import type { ImageCatalog } from './image-catalog.ts'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const opDoc = (description: string) => ({ description, content: { [JSONAPI]: { schema: operationDocumentSchema } } })

const serverParam = z.object({ server_id: z.uuid().openapi({ param: { name: 'server_id', in: 'path' } }) })
/** `branch` overrides the configured branch (a feature build); checked by the branch validator in the service (422). */
const buildQuery = z.strictObject({ branch: z.string().max(200).optional() })
const pruneQuery = z.strictObject({
  'filter[server]': z.uuid().optional(),
  dryRun: z.enum(['0', '1', 'true', 'false']).optional(),
})
const imagesQuery = listQuerySchema({
  sortable: [],
  filters: { server: z.uuid(), channel: z.enum(['dev', 'master']), version: z.string().max(128) },
}).omit({ sort: true })

const imageAttributes = z.object({
  ref: z.string(),
  server: z.string(),
  version: z.string().nullable(),
  channel: z.string().nullable(),
  commit: z.string().nullable(),
  branch: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  builtAt: z.string().nullable(),
  buildOperation: z.string().nullable(),
  clientsCount: z.number(),
  clientIds: z.array(z.string()),
})
const pruneDocument = z
  .object({
    data: z.array(z.object({ type: z.literal('operations'), id: z.string() }).passthrough()),
    meta: z.object({ skipped: z.array(z.object({ serverId: z.string(), reason: z.string() })) }),
  })
  .openapi('PruneOperations')

/**
 * The seed's image routes, GET as it writes them and POST: build_dev / build_prod on a server and prune across
 * servers, each answering 202 with its operations; and GET /images, the recorded images with the clients using them.
 */
export function imageRoutes(deps: { builds: ImageBuilds; catalog: ImageCatalog }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })

  const build = async (c: Context<AppEnv>, serverId: string, channel: 'dev' | 'master', branch?: string) => {
    const op = await deps.builds.build(serverId, channel, c.get('adminUser'), branch)
    c.header('Location', `/operations/${op.id}`)
    return sendDocument(c, resourceDocument(operationResource(op)), 202)
  }
  const prune = async (c: Context<AppEnv>, q: z.infer<typeof pruneQuery>) => {
    const dryRun = q.dryRun === '1' || q.dryRun === 'true'
    const serverId = q['filter[server]']
    const { operations, skipped } = await deps.builds.prune(
      serverId ? { serverId, dryRun } : { dryRun },
      c.get('adminUser'),
    )
    return sendDocument(
      c,
      { jsonapi: { version: '1.1' }, data: operations.map(operationResource), meta: { skipped } },
      202,
    )
  }

  for (const method of ['get', 'post'] as const) {
    for (const [verb, channel, summary] of [
      ['build_dev', 'dev', 'Build an image from the dev branch, front end included'],
      ['build_prod', 'master', 'Build an image from the production branch'],
    ] as const) {
      app.openapi(
        createRoute({
          method,
          path: `/containers/{server_id}/${verb}`,
          tags: ['images'],
          summary,
          request: { params: serverParam, query: buildQuery },
          responses: {
            202: opDoc('Build started: poll the operation (its log streams the build output)'),
            404: err('No such server'),
            409: err('A build is already running on this server (meta.operationId), or builds are not configured'),
            422: err('A build setting (ALFA_APP_*) or the branch is invalid'),
            503: err('The agent is offline'),
            ...commonErrorResponses,
          },
        }),
        (c) => build(c, c.req.valid('param').server_id, channel, c.req.valid('query').branch),
      )
    }
    app.openapi(
      createRoute({
        method,
        path: '/containers/prune',
        tags: ['images'],
        summary: 'Remove image versions no container uses, keeping the newest per channel (one operation per server)',
        request: { query: pruneQuery },
        responses: {
          202: { description: 'Prune operations started', content: { [JSONAPI]: { schema: pruneDocument } } },
          404: err('No such server'),
          503: err('The named server is offline'),
          ...commonErrorResponses,
        },
      }),
      (c) => prune(c, c.req.valid('query')),
    )
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/images',
      tags: ['images'],
      summary: 'Images recorded across servers, with the clients using each',
      request: { query: imagesQuery },
      responses: {
        200: {
          description: 'Images, newest build first',
          content: { [JSONAPI]: { schema: collectionDocumentSchema('images', imageAttributes) } },
        },
        ...commonErrorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const page = pageOf(q)
      const { rows, total } = await deps.catalog.list({
        ...(q['filter[server]'] ? { server: q['filter[server]'] } : {}),
        ...(q['filter[channel]'] ? { channel: q['filter[channel]'] } : {}),
        ...(q['filter[version]'] ? { version: q['filter[version]'] } : {}),
        page,
      })
      return sendDocument(c, collectionDocument(rows, { url: new URL(c.req.url), page, total }))
    },
  )
  return app
}
