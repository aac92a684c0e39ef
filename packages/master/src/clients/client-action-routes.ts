import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { imageRefSchema, isoDateSchema } from '@alfa/protocol'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument, resourceDocument } from '../http/jsonapi.ts'
import { listQuerySchema, pageOf } from '../http/list-query.ts'
import { sendDocument } from '../http/respond.ts'
import {
  commonErrorResponses,
  errorDocumentSchema,
  idParamSchema,
  writeDocumentSchema,
} from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import type { OperationAnswer } from '../operations/operation-answer.ts'
import { operationDocumentSchema, preferenceAppliedHeader, preferWaitHeaders } from '../operations/operation-routes.ts'
import { MAX_PASSWORD_LENGTH } from '../auth/password-policy.ts'
import type { Operation } from '../generated/prisma/client.ts'
import type { ClientActions } from './client-actions.ts'
import { clientResource, isoDay } from './client-serializer.ts'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const accepted = {
  200: {
    description:
      'Asked with `Prefer: wait=<seconds>` and ended within them: the final operation (as GET /operations/{id})',
    headers: preferenceAppliedHeader,
    content: { [JSONAPI]: { schema: operationDocumentSchema } },
  },
  202: {
    description:
      'Started: the operation (poll /operations/{id}); with `Prefer: wait`, still running when the wait ran out',
    headers: preferenceAppliedHeader,
    content: { [JSONAPI]: { schema: operationDocumentSchema } },
  },
}
const actionErrors = {
  404: err('No such client'),
  409: err('Another operation runs on this client (meta.operationId), or the client is not active'),
  503: err('Agent offline'),
  ...commonErrorResponses,
}

const passwordBody = writeDocumentSchema(
  'owner-passwords',
  z.strictObject({ password: z.string().min(1).max(MAX_PASSWORD_LENGTH) }),
).openapi('OwnerPasswordWrite')
const expireBody = writeDocumentSchema(
  'expire-dates',
  z.strictObject({
    /** The last day the system may be used; null removes the limit. */
    date: isoDateSchema.nullable(),
    /** Why, kept in the history. */
    reason: z
      .string()
      .max(500)
      .regex(/^[^\p{Cc}]*$/u, 'no control characters')
      .optional(),
  }),
).openapi('ExpireDateWrite')
const switchParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }),
  /** The image to switch to, URL-encoded (a slash as %2F). */
  image: z
    .string()
    .max(300)
    .pipe(imageRefSchema)
    .openapi({ param: { name: 'image', in: 'path' } }),
})

/** The seed's per-client actions: GET exactly as the seed writes them, and POST. */
export function clientActionRoutes(deps: { actions: ClientActions; answer: OperationAnswer }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  const started = deps.answer
  const simple: [string, string, (id: string, by: string) => Promise<Operation>][] = [
    ['reboot', "Restart the client's container and wait for health", (id, by) => deps.actions.reboot(id, by)],
    ['migrate', "Run the client's database migrations (artisan migrate)", (id, by) => deps.actions.migrate(id, by)],
    ['demo_enable', 'Load the demo data (demo seeder)', (id, by) => deps.actions.demo(id, true, by)],
    ['demo_disable', 'Remove the demo data (inverse seeder)', (id, by) => deps.actions.demo(id, false, by)],
    [
      'maintain_enable',
      'Serve the maintenance page (nginx serves it even when the app is down)',
      (id, by) => deps.actions.maintenance(id, true, by),
    ],
    ['maintain_disable', 'Stop serving the maintenance page', (id, by) => deps.actions.maintenance(id, false, by)],
  ]
  for (const [path, summary, act] of simple) {
    for (const method of ['get', 'post'] as const) {
      app.openapi(
        createRoute({
          method,
          path: `/clients/{id}/${path}`,
          tags: ['client actions'],
          summary,
          request: { params: idParamSchema, headers: preferWaitHeaders },
          responses: { ...accepted, ...actionErrors },
        }),
        async (c) => started(c, await act(c.req.valid('param').id, c.get('adminUser'))),
      )
    }
  }
  for (const method of ['get', 'post'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/clients/{id}/switch/{image}',
        tags: ['client actions'],
        summary: 'Switch the client to another image version (snapshot, migrate, health, rollback on failure)',
        request: { params: switchParams, headers: preferWaitHeaders },
        responses: { ...accepted, ...actionErrors },
      }),
      async (c) =>
        started(
          c,
          await deps.actions.switchImage(c.req.valid('param').id, c.req.valid('param').image, c.get('adminUser')),
        ),
    )
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/clients/{id}/owner_password',
      tags: ['client actions'],
      summary: "Set the laboratory administrator's password (stored encrypted, never returned)",
      request: {
        params: idParamSchema,
        headers: preferWaitHeaders,
        body: { required: true, content: { [JSONAPI]: { schema: passwordBody } } },
      },
      responses: { ...accepted, 422: err('Weak or invalid password'), ...actionErrors },
    }),
    async (c) =>
      started(
        c,
        await deps.actions.ownerPassword(
          c.req.valid('param').id,
          c.req.valid('json').data.attributes.password,
          c.get('adminUser'),
        ),
      ),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/clients/{id}/expire_date',
      tags: ['client actions'],
      summary: 'Set the last day of use; the change is recorded and the server follows (expiry page after the date)',
      request: { params: idParamSchema, body: { required: true, content: { [JSONAPI]: { schema: expireBody } } } },
      responses: {
        200: {
          description: 'The client (meta.operation when the server was updated at once)',
          content: { [JSONAPI]: { schema: z.unknown() } },
        },
        422: err('Invalid date'),
        ...actionErrors,
      },
    }),
    async (c) => {
      const { date, reason } = c.req.valid('json').data.attributes
      const { client, operation } = await deps.actions.expireDate(
        c.req.valid('param').id,
        date,
        reason,
        c.get('adminUser'),
      )
      return sendDocument(
        c,
        resourceDocument(
          clientResource(
            client,
            operation ? { operation: { id: operation.id, links: { self: `/operations/${operation.id}` } } } : undefined,
          ),
        ),
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/clients/{id}/expire_dates_history',
      tags: ['client actions'],
      summary: 'Changes of the expire date, newest first',
      request: { params: idParamSchema, query: listQuerySchema({ sortable: ['changedAt'], filters: {} }) },
      responses: {
        200: { description: 'History', content: { [JSONAPI]: { schema: z.unknown() } } },
        404: err('No such client'),
        ...commonErrorResponses,
      },
    }),
    async (c) => {
      const page = pageOf(c.req.valid('query'))
      const { rows, total } = await deps.actions.history(c.req.valid('param').id, page)
      return sendDocument(
        c,
        collectionDocument(
          rows.map((h) => ({
            type: 'expire-date-changes',
            id: h.id,
            attributes: {
              oldDate: isoDay(h.oldDate),
              newDate: isoDay(h.newDate),
              changedAt: h.changedAt.toISOString(),
              changedBy: h.changedBy,
              reason: h.reason,
            },
          })),
          { url: new URL(c.req.url), page, total },
        ),
      )
    },
  )
  return app
}
