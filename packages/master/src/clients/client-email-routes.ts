import type { z } from '@hono/zod-openapi'
import { createRoute, OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../http/app-env.ts'
import { collectionDocument, resourceDocument } from '../http/jsonapi.ts'
import { listQuerySchema, pageOf } from '../http/list-query.ts'
import { sendDocument } from '../http/respond.ts'
import { commonErrorResponses, errorDocumentSchema, idParamSchema } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import type { CustomerLetters } from '../mail/customer-letters.ts'
import { emailCollectionSchema, emailDocumentSchema, emailResource } from '../mail/email-serializer.ts'

const JSONAPI = 'application/vnd.api+json'
const err = (description: string) => ({ description, content: { [JSONAPI]: { schema: errorDocumentSchema } } })
const emailDoc = (description: string) => ({ description, content: { [JSONAPI]: { schema: emailDocumentSchema } } })

// Sorted by time only (newest first by default, `sort=createdAt` for oldest first); strict, so a typo is a 400.
const emailListQuery = listQuerySchema({ sortable: ['createdAt'], filters: {} as Record<string, z.ZodType> })

function sendRoute(method: 'get' | 'post', path: string, summary: string, conflict: string) {
  return createRoute({
    method,
    path,
    tags: ['clients'],
    summary,
    request: { params: idParamSchema },
    responses: {
      // A failed letter is not an HTTP error: the operation asked for stands, the record says what became of the mail.
      200: emailDoc(
        "The letter's record: sent, or failed with lastError; queued/sending if retries outlast the wait (see GET /clients/{id}/emails)",
      ),
      404: err('No such client (or deleted)'),
      409: err(conflict),
      ...commonErrorResponses,
    },
  })
}

const listRoute = createRoute({
  method: 'get',
  path: '/clients/{id}/emails',
  tags: ['clients'],
  summary: 'Letters sent to the client, newest first',
  request: { params: idParamSchema, query: emailListQuery },
  responses: {
    200: { description: 'Letters', content: { [JSONAPI]: { schema: emailCollectionSchema } } },
    404: err('No such client (or deleted)'),
    ...commonErrorResponses,
  },
})

/**
 * The seed's send_success and send_expire (GET as the seed writes them, and POST), and the letter history. The
 * request waits for the letter, so the answer says whether it went out.
 */
export function clientEmailRoutes(deps: { letters: CustomerLetters }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  for (const method of ['get', 'post'] as const) {
    app.openapi(
      sendRoute(
        method,
        '/clients/{id}/send_success',
        'Mail the owner the cloud URL, login and password',
        'No stored owner password (code no_password)',
      ),
      async (c) =>
        sendDocument(c, resourceDocument(emailResource(await deps.letters.sendSuccess(c.req.valid('param').id)))),
    )
    app.openapi(
      sendRoute(
        method,
        '/clients/{id}/send_expire',
        'Mail the expire date and how to extend',
        'The client has no expire date (code no_expire_date)',
      ),
      async (c) =>
        sendDocument(c, resourceDocument(emailResource(await deps.letters.sendExpire(c.req.valid('param').id)))),
    )
  }
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query')
    const page = pageOf(q)
    const { rows, total } = await deps.letters.list(c.req.valid('param').id, page, q.sort === 'createdAt')
    return sendDocument(c, collectionDocument(rows.map(emailResource), { url: new URL(c.req.url), page, total }))
  })
  return app
}
