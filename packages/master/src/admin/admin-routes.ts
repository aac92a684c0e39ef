import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AdminCredentials } from '../auth/admin-credentials.ts'
import type { AppEnv } from '../http/app-env.ts'
import { resourceDocument } from '../http/jsonapi.ts'
import { sendDocument } from '../http/respond.ts'
import {
  commonErrorResponses,
  errorDocumentSchema,
  resourceDocumentSchema,
  writeDocumentSchema,
} from '../http/resource-schemas.ts'
import { validationHook } from '../http/validation.ts'
import { MAX_PASSWORD_LENGTH } from '../auth/password-policy.ts'

const JSONAPI = 'application/vnd.api+json'

const rotateBody = writeDocumentSchema(
  'admin-credentials',
  z.strictObject({
    /** The new API password (strength enforced). */
    password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
    /** Optional new login; the current one is kept when absent. */
    username: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits and . _ @ - only, 1-64 characters')
      .optional(),
  }),
).openapi('AdminPasswordWrite')

const rotateRoute = createRoute({
  method: 'post',
  path: '/cloud_admin_password',
  tags: ['admin'],
  summary: 'Set the password for connecting to the API (the old one stops working at once)',
  request: { body: { required: true, content: { [JSONAPI]: { schema: rotateBody } } } },
  responses: {
    200: {
      description: 'Rotated',
      content: {
        [JSONAPI]: {
          schema: resourceDocumentSchema(
            'admin-credentials',
            z.object({ username: z.string(), rotatedAt: z.string() }),
          ),
        },
      },
    },
    422: { description: 'Weak or invalid password', content: { [JSONAPI]: { schema: errorDocumentSchema } } },
    ...commonErrorResponses,
  },
})

/** POST /cloud_admin_password (the seed's TODO). */
export function adminRoutes(deps: { credentials: AdminCredentials }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  app.openapi(rotateRoute, async (c) => {
    const { data } = c.req.valid('json')
    const rotated = await deps.credentials.rotate({
      currentUser: c.get('adminUser'),
      newUser: data.attributes.username,
      password: data.attributes.password,
    })
    return sendDocument(
      c,
      resourceDocument({
        type: 'admin-credentials',
        id: rotated.username,
        attributes: { username: rotated.username, rotatedAt: rotated.rotatedAt.toISOString() },
      }),
    )
  })
  return app
}
