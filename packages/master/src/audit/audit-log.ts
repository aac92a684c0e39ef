import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes, routePath } from 'hono/route'
import type { Logger } from 'pino'
import type { Sql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { AppEnv } from '../http/app-env.ts'

/** GET routes that only read: everything else (every other method, and the seed's GET actions) is a change. */
const READ_ONLY_GETS = new Set([
  '/health',
  '/servers',
  '/servers/:id',
  '/servers/:id/metrics',
  '/servers/:id/metrics/stream',
  // A read-only query of the agent: it changes nothing on the server, and its operation row already says who asked
  // and when (requestedBy, createdAt). An audit row each was a second write, through the ORM, on a command's hot path.
  '/servers/:id/images',
  '/operations',
  '/operations/:id',
  '/clients',
  '/clients/:id',
  '/clients/:id/create_log',
  '/clients/:id/expire_dates_history',
  '/clients/:id/emails',
  '/openapi.json',
  '/docs',
  '/docs/assets/:file',
  '/audit',
])

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

export interface AuditEntryInput {
  actor: string | null
  address: string
  method: string
  route: string
  targetId: string | null
  status: number
}

/** The audit log's store: one row per change, never a body, header or password. */
export function createAuditLog(deps: { prisma: PrismaClient; sql: Sql; logger: Logger }) {
  const log = deps.logger.child({ component: 'audit' })
  return {
    /**
     * One INSERT straight through the driver: every change's answer waits for it (the middleware runs before the
     * response leaves), and the ORM cost several times the driver's CPU per statement (db/sql.ts).
     */
    async record(entry: AuditEntryInput): Promise<void> {
      try {
        await deps.sql.query(
          `INSERT INTO "AuditEntry" (at, actor, address, method, route, "targetId", status)
           VALUES ($1::timestamp(3), $2::text, $3::text, $4::text, $5::text, $6::text, $7::int)`,
          [new Date(), entry.actor, entry.address, entry.method, entry.route, entry.targetId, entry.status],
          'audit-insert',
        )
      } catch (err) {
        // The change itself is done; a missing audit row must at least be loud.
        log.error({ err, ...entry }, 'could not write the audit entry')
      }
    },

    async list(opts: {
      filter: { actor?: string; target?: string; from?: Date; to?: Date }
      page: { number: number; size: number }
      desc: boolean
    }) {
      const where = {
        ...(opts.filter.actor ? { actor: opts.filter.actor } : {}),
        ...(opts.filter.target ? { targetId: opts.filter.target } : {}),
        ...(opts.filter.from || opts.filter.to
          ? {
              at: {
                ...(opts.filter.from ? { gte: opts.filter.from } : {}),
                ...(opts.filter.to ? { lt: opts.filter.to } : {}),
              },
            }
          : {}),
      }
      const [rows, total] = await deps.prisma.$transaction([
        deps.prisma.auditEntry.findMany({
          where,
          orderBy: [{ at: opts.desc ? 'desc' : 'asc' }, { id: opts.desc ? 'desc' : 'asc' }],
          skip: (opts.page.number - 1) * opts.page.size,
          take: opts.page.size,
        }),
        deps.prisma.auditEntry.count({ where }),
      ])
      return { rows, total }
    },
  }
}

export type AuditLog = ReturnType<typeof createAuditLog>

/** The id a create answered with (data.id of a JSON:API document), read from a copy of the small response. */
async function createdId(c: Context): Promise<string | null> {
  if (!(c.res.headers.get('Content-Type') ?? '').includes('json')) return null
  try {
    const doc = (await c.res.clone().json()) as { data?: { id?: unknown } }
    return typeof doc.data?.id === 'string' ? doc.data.id.slice(0, 200) : null
  } catch {
    return null // not a JSON document (an empty 202, say): no id to record
  }
}

/**
 * The pattern of the route the request was for: the last matched one that is not a middleware (`app.use` registers
 * method ALL). The last matched one alone is wrong for routes registered before the authenticating middlewares:
 * GET /health matched `/*` last, and every anonymous probe wrote an audit row.
 */
function answeredRoute(c: Context): string {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path
  return routePath(c, -1)
}

/**
 * Records every change made through the API, mounted once before every route so none is forgotten: method, route
 * pattern, target id, who (the authenticated login, or the login a refused password was tried for), from where,
 * the status and the time. Bodies are never read for it, so no password or secret can end up in the log.
 */
export function auditMiddleware(deps: {
  audit: AuditLog
  clientAddress: (c: Context) => string
}): MiddlewareHandler<AppEnv> {
  return async function auditTrail(c, next) {
    await next()
    const route = answeredRoute(c)
    const refused = c.get('refusedLogin')
    const isRead = (c.req.method === 'GET' || c.req.method === 'HEAD') && READ_ONLY_GETS.has(route)
    const unmatched = c.res.status === 404 && (route === '*' || route === '/*')
    if (refused === undefined && (isRead || unmatched || c.req.method === 'OPTIONS')) return
    // Credentials missing altogether are not an attempt (and not throttled): recording them would let anyone grow
    // the table for free. A refused password is recorded (throttled per address, so the table grows slowly).
    if (c.res.status === 401 && refused === undefined) return
    // Refused before anything was read or changed (throttled, oversized): not changes, and free to send, so not
    // worth a row each; the 413 also answers at once, before its connection is closed.
    if (c.res.status === 429 || c.res.status === 413) return
    const fromPath = UUID.exec(c.req.path)?.[0] ?? null
    const targetId = fromPath ?? (c.res.status < 300 ? await createdId(c) : null)
    await deps.audit.record({
      actor: c.get('adminUser') ?? refused ?? null,
      address: deps.clientAddress(c),
      method: c.req.method,
      route: route.slice(0, 200),
      targetId,
      status: c.res.status,
    })
  }
}
