import type { IncomingMessage } from 'node:http'
import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { Logger } from 'pino'
import { adminRoutes } from './admin/admin-routes.ts'
import { createAdminCredentials, type AdminCredentials } from './auth/admin-credentials.ts'
import { basicAuth } from './auth/basic-auth.ts'
import { createLoginThrottle, DEFAULT_THROTTLE, type ThrottleOptions } from './auth/login-throttle.ts'
import type { HashParams } from './auth/password-hash.ts'
import type { Clock } from './clock.ts'
import type { PrismaClient } from './generated/prisma/client.ts'
import type { AppEnv } from './http/app-env.ts'
import { createErrorHandler, notFoundHandler } from './http/on-error.ts'
import { requestGuards } from './http/request-guards.ts'
import { requestLog } from './http/request-log.ts'
import { validationHook } from './http/validation.ts'
import { docsPage } from './openapi/docs-page.ts'
import { serverRoutes } from './servers/server-routes.ts'
import { createServerService } from './servers/server-service.ts'

export interface AppDeps {
  prisma: PrismaClient
  logger: Logger
  clock: Clock
  maxBodyBytes?: number
  /** scrypt cost; tests lower it, production keeps the OWASP default. */
  hashParams?: HashParams
  throttle?: ThrottleOptions
  /** Overrides the client address (tests); by default the socket's remote address. */
  clientAddress?: (c: Context) => string
}

export const API_VERSION = '0.1.0'

function socketAddress(c: Context): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  return incoming?.socket.remoteAddress ?? 'unknown'
}

/** Builds the master's HTTP app from its dependencies; nothing here reaches for globals. */
export function createApp(deps: AppDeps): { app: OpenAPIHono<AppEnv>; credentials: AdminCredentials } {
  const { prisma, logger, clock } = deps
  const credentials = createAdminCredentials({ prisma, clock, logger, ...(deps.hashParams ? { hashParams: deps.hashParams } : {}) })
  const throttle = createLoginThrottle(clock, deps.throttle ?? DEFAULT_THROTTLE)
  const servers = createServerService({ prisma })

  // strict: false so the seed's `/servers/` and `/clients/` (with a slash) reach the same routes.
  const app = new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook })
  app.onError(createErrorHandler(logger))
  app.notFound(notFoundHandler)
  app.use('*', requestLog(logger))

  // The only public route: load balancers and the start script probe it.
  app.get('/health', (c) => c.json({ status: 'ok', version: API_VERSION }))

  app.use('*', basicAuth({ credentials, throttle, logger, clientAddress: deps.clientAddress ?? socketAddress }))
  app.use('*', ...requestGuards({ maxBodyBytes: deps.maxBodyBytes ?? 256 * 1024 }))

  app.route('/', serverRoutes({ servers }))
  app.route('/', adminRoutes({ credentials }))
  app.route('/', docsPage())

  app.openAPIRegistry.registerComponent('securitySchemes', 'basicAuth', { type: 'http', scheme: 'basic' })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Alfa Cloud API', version: API_VERSION, description: 'Control plane for hosted Mol instances (JSON:API 1.1, Basic Auth).' },
    security: [{ basicAuth: [] }],
  })
  return { app, credentials }
}
