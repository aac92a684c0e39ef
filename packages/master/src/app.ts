import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { adminRoutes } from './admin/admin-routes.ts'
import { auditMiddleware, createAuditLog } from './audit/audit-log.ts'
import { auditRoutes } from './audit/audit-routes.ts'
import { enrollRoute } from './agent-hub/enroll-route.ts'
import { basicAuth } from './auth/basic-auth.ts'
import { clientEmailRoutes } from './clients/client-email-routes.ts'
import { createLoginThrottle, DEFAULT_THROTTLE, type ThrottleOptions } from './auth/login-throttle.ts'
import type { AppEnv } from './http/app-env.ts'
import { clientAddressResolver, parseTrustedProxies, type TrustedProxies } from './http/client-address.ts'
import { createErrorHandler, notFoundHandler } from './http/on-error.ts'
import { bodyLimitGuard, mediaTypeGuard } from './http/request-guards.ts'
import { requestLog } from './http/request-log.ts'
import { validationHook } from './http/validation.ts'
import { docsPage } from './openapi/docs-page.ts'
import { fleetRoutes } from './fleet/fleet-routes.ts'
import { createOperationAnswer } from './operations/operation-answer.ts'
import { operationRoutes } from './operations/operation-routes.ts'
import { operationEventRoutes } from './operations/operation-events.ts'
import { testBatchRoute } from './operations/test-batch-route.ts'
import { clientRoutes } from './clients/client-routes.ts'
import { clientActionRoutes } from './clients/client-action-routes.ts'
import { imageRoutes } from './images/image-routes.ts'
import { serverActionRoutes } from './servers/server-action-routes.ts'
import { serverMetricsRoutes } from './servers/server-metrics-routes.ts'
import { serverRoutes } from './servers/server-routes.ts'
import type { Services } from './services.ts'
import { moveRoutes } from './moves/move-routes.ts'

export interface AppOptions {
  maxBodyBytes?: number
  throttle?: ThrottleOptions
  /** Overrides the client address (tests); by default the socket's peer, or X-Forwarded-For from a trusted proxy. */
  clientAddress?: (c: Context) => string
  /** Proxies whose X-Forwarded-For names the client (ALFA_TRUSTED_PROXIES). */
  trustedProxies?: TrustedProxies
  /** URL agents use to reach this master, for enrollment commands. */
  publicUrl?: string
  /** Serves POST /test/batch (ALFA_TEST_OPERATIONS=1): a parent of test.sleep children, for tests only. */
  testOperations?: boolean
}

export const API_VERSION = '0.1.0'

/** Builds the master's HTTP app from its services; nothing here reaches for globals. */
export function createApp(services: Services, opts: AppOptions = {}): OpenAPIHono<AppEnv> {
  const { logger, clock } = services
  const throttle = createLoginThrottle(clock, opts.throttle ?? DEFAULT_THROTTLE)
  const audit = createAuditLog({ prisma: services.prisma, sql: services.sql, logger })
  const clientAddress = opts.clientAddress ?? clientAddressResolver(opts.trustedProxies ?? parseTrustedProxies(''))

  // strict: false so the seed's `/servers/` and `/clients/` (with a slash) reach the same routes.
  const app = new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook })
  app.onError(createErrorHandler(logger))
  app.notFound(notFoundHandler)
  app.use('*', requestLog(logger))
  // Before any route, public ones included: nothing may read a body the limit has not bounded.
  app.use('*', bodyLimitGuard({ maxBodyBytes: opts.maxBodyBytes ?? 256 * 1024 }))
  // Every change, public routes and refused logins included, is recorded once its answer is known.
  app.use('*', auditMiddleware({ audit, clientAddress }))

  // The public routes: the health probe, and enrollment (authenticated by its one-time token).
  app.get('/health', (c) => c.json({ status: 'ok', version: API_VERSION }))
  app.route('/', enrollRoute({ credentials: services.agentCredentials, throttle, logger, clientAddress }))

  // Routes that start an operation answer through it (202 at once, or after the operation with `Prefer: wait`).
  const operationAnswer = createOperationAnswer({
    operations: services.operations,
    untilEnded: services.untilEnded,
    finals: services.finals,
  })

  app.use('*', basicAuth({ credentials: services.adminCredentials, throttle, logger, clientAddress }))
  app.use('*', mediaTypeGuard())

  app.route(
    '/',
    serverRoutes({
      servers: services.servers,
      hub: services.hub,
      metrics: services.metrics,
      agentCredentials: services.agentCredentials,
      ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
    }),
  )
  app.route('/', fleetRoutes({ fleet: services.fleet }))
  app.route('/', serverActionRoutes({ actions: services.serverActions }))
  app.route('/', imageRoutes({ builds: services.imageBuilds, catalog: services.imageCatalog }))
  app.route('/', serverMetricsRoutes({ metrics: services.metrics, servers: services.servers }))
  app.route('/', clientRoutes({ clients: services.clients, actions: services.clientActions }))
  app.route('/', clientActionRoutes({ actions: services.clientActions, answer: operationAnswer }))
  app.route('/', moveRoutes({ moves: services.moves }))
  app.route('/', operationRoutes({ operations: services.operations, parents: services.parents }))
  app.route('/', operationEventRoutes({ prisma: services.prisma }))
  if (opts.testOperations)
    app.route('/', testBatchRoute({ parents: services.parents, operations: services.operations }))
  app.route('/', clientEmailRoutes({ letters: services.mail.letters }))
  app.route('/', adminRoutes({ credentials: services.adminCredentials }))
  app.route('/', auditRoutes({ audit }))
  app.route('/', docsPage())

  app.openAPIRegistry.registerComponent('securitySchemes', 'basicAuth', { type: 'http', scheme: 'basic' })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Alfa Cloud API',
      version: API_VERSION,
      description: 'Control plane for hosted Mol instances (JSON:API 1.1, Basic Auth).',
    },
    security: [{ basicAuth: [] }],
  })
  return app
}
