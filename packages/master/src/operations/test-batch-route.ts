import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { TestSleepPayload } from '@alfa/protocol'
import type { AppEnv } from '../http/app-env.ts'
import { sendDocument } from '../http/respond.ts'
import { commonErrorResponses } from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { operationDocument, operationDocumentSchema } from './operation-routes.ts'
import type { OperationService } from './operation-service.ts'
import type { ParentRunner } from './parent-runner.ts'

const JSONAPI = 'application/vnd.api+json'

const batchBody = z.strictObject({
  data: z.strictObject({
    type: z.literal('test-batches'),
    attributes: z.strictObject({
      server: z.uuid(),
      /** One test.sleep per entry, in plan order. */
      children: z.array(TestSleepPayload).min(1).max(100),
      concurrency: z.int().min(1).max(100).default(2),
      maxFailures: z.int().min(1).max(100).default(1),
    }),
  }),
})

const batchRoute = createRoute({
  method: 'post',
  path: '/test/batch',
  tags: ['test'],
  summary: 'A parent of test.sleep children (served only with ALFA_TEST_OPERATIONS=1)',
  request: { body: { content: { [JSONAPI]: { schema: batchBody } }, required: true } },
  responses: {
    202: { description: 'The parent operation', content: { [JSONAPI]: { schema: operationDocumentSchema } } },
    ...commonErrorResponses,
  },
})

/** POST /test/batch: exercises the parent runner end to end against real agents (test.sleep with markers). */
export function testBatchRoute(deps: { parents: ParentRunner; operations: OperationService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  app.openapi(batchRoute, async (c) => {
    const { server, children, concurrency, maxFailures } = c.req.valid('json').data.attributes
    const parent = await deps.parents.start({
      kind: 'test.batch',
      serverId: server,
      requestedBy: c.get('adminUser'),
      plan: { concurrency, maxFailures, children: children.map((sleep) => ({ serverId: server, sleep })) },
    })
    c.header('Location', `/operations/${parent.id}`)
    return sendDocument(c, operationDocument(await deps.operations.get(parent.id)), 202)
  })
  return app
}
