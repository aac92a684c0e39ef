import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv } from '../http/app-env.ts'
import { resourceDocument } from '../http/jsonapi.ts'
import { sendDocument } from '../http/respond.ts'
import { commonErrorResponses, errorDocumentSchema, idParamSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { operationDocumentSchema } from '../operations/operation-routes.ts'
import { operationResource } from '../operations/operation-serializer.ts'
import type { ServerActions } from './server-actions.ts'
import type { ImageListResult } from '@alfa/protocol'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const opDoc = (description: string) => ({ description, content: { [JSONAPI]: { schema: operationDocumentSchema } } })

const imageAttributes = z.object({
  ref: z.string(),
  tags: z.array(z.string()),
  sizeBytes: z.number(),
  createdAt: z.string(),
  labels: z.record(z.string(), z.string()),
  version: z.string().nullable(),
  channel: z.string().nullable(),
  commit: z.string().nullable(),
  branch: z.string().nullable(),
  buildOperation: z.string().nullable(),
  clientsCount: z.number(),
  clientIds: z.array(z.string()),
})
const imagesDocument = z
  .object({
    data: z.array(z.object({ type: z.literal('images'), id: z.string(), attributes: imageAttributes })),
    meta: z.object({ operation: z.string() }),
  })
  .openapi('ServerImages')

const usage = (clientIds: string[]) => ({ clientsCount: clientIds.length, clientIds })

/** Build facts from the image's labels, completed by the master's record of the build. */
function buildFacts(
  img: ImageListResult['images'][number],
  record: { buildOperationId: string | null; gitCommit: string | null; branch: string | null } | undefined,
) {
  return {
    version: img.labels['alfa.version'] ?? null,
    channel: img.labels['alfa.channel'] ?? null,
    commit: img.labels['alfa.commit'] ?? record?.gitCommit ?? null,
    branch: img.labels['alfa.branch'] ?? record?.branch ?? null,
    buildOperation: record?.buildOperationId ?? null,
  }
}

function actionRoute<R extends Record<number, { description: string; content?: object }>>(
  method: 'get' | 'post',
  path: string,
  summary: string,
  responses: R,
) {
  return createRoute({
    method,
    path,
    tags: ['servers'],
    summary,
    request: { params: idParamSchema },
    responses: {
      ...responses,
      404: err('No such server'),
      503: err('The agent is offline (code agent_offline)'),
      ...commonErrorResponses,
    },
  })
}

/**
 * The seed's server actions, reachable with GET exactly as the seed writes them and with POST. Each goes through the
 * server's agent as an operation; an offline agent is a 503 at once.
 */
export function serverActionRoutes(deps: { actions: ServerActions }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })

  const images = async (c: Context<AppEnv>, id: string) => {
    const answer = await deps.actions.images(id, c.get('adminUser'))
    const { operation, images: list, failed } = answer
    if (failed) return sendDocument(c, resourceDocument(operationResource(operation)), 502)
    if (!list || !answer.catalog) {
      c.header('Location', `/operations/${operation.id}`)
      return sendDocument(c, resourceDocument(operationResource(operation)), 202)
    }
    // What the master recorded of each build, and the clients on this server using each image (read with the end).
    const known = answer.catalog
    return sendDocument(c, {
      jsonapi: { version: '1.1' },
      data: list.map((img) => ({
        type: 'images',
        id: img.id,
        attributes: {
          ref: img.ref,
          tags: img.tags,
          sizeBytes: img.sizeBytes,
          createdAt: new Date(img.createdAt).toISOString(),
          labels: img.labels,
          ...buildFacts(img, known.record.get(img.ref)),
          ...usage(img.tags.flatMap(known.clientsOf)),
        },
      })),
      meta: { operation: operation.id, total: list.length },
    })
  }
  const reboot = async (c: Context<AppEnv>, id: string) => {
    const op = await deps.actions.reboot(id, c.get('adminUser'))
    c.header('Location', `/operations/${op.id}`)
    return sendDocument(c, resourceDocument(operationResource(op)), 202)
  }

  for (const method of ['get', 'post'] as const) {
    app.openapi(
      actionRoute(method, '/servers/{id}/images', 'Images available on the server (through its agent)', {
        200: { description: 'The images', content: { [JSONAPI]: { schema: imagesDocument } } },
        202: opDoc('Still running: poll the operation'),
        502: opDoc('The agent failed to list images'),
      }),
      (c) => images(c, c.req.valid('param').id),
    )
    app.openapi(
      actionRoute(method, '/servers/{id}/reboot_server', 'Reboot the server', {
        202: opDoc('Reboot operation started'),
        409: err('A reboot is already running'),
      }),
      (c) => reboot(c, c.req.valid('param').id),
    )
  }
  return app
}
