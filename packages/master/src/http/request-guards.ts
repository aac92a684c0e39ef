import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { IncomingMessage } from 'node:http'
import { PayloadTooLarge, UnsupportedMediaType } from '../errors.ts'
import { DEFAULT_LINGER, lingerAfterRefusal, type LingerBounds } from './lingering-close.ts'

const JSON_TYPE = /^application\/(vnd\.api\+json|json)\s*(;\s*charset=utf-8\s*)?$/i
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])

/**
 * Refuses bodies over the limit (counted as they stream in, so a missing or lying Content-Length does not help).
 * Mounted first, before any route or authentication, so no handler (enrollment included) can read an unbounded
 * body. Every method is covered: a GET or DELETE with a body is read the same way if some handler asks for it.
 */
export function bodyLimitGuard(opts: { maxBodyBytes: number; linger?: LingerBounds }): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: opts.maxBodyBytes,
    onError: (c) => {
      // The rest of the body is not worth keeping: it is discarded while the sender reads the 413, then the
      // connection closes (bounded in time and bytes). In-process requests (app.request) have no socket.
      c.header('Connection', 'close')
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
      if (incoming) lingerAfterRefusal(incoming, opts.linger ?? DEFAULT_LINGER)
      throw new PayloadTooLarge(opts.maxBodyBytes)
    },
  })
  return async function bodyLimitGuard(c, next) {
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 6.3): its next bytes are the
    // next request. Such requests (GET /health among them) skip the limit, whose check builds a web Request.
    const headers = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.headers
    if (headers && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return next()
    return limit(c, next)
  }
}

/**
 * Refuses bodies that are not JSON:API or plain JSON. Bodiless POSTs stay allowed: the seed's actions are offered as
 * POST too. Runs after bodyLimitGuard, so the text it reads is already bounded.
 */
export function mediaTypeGuard(): MiddlewareHandler {
  return async function mediaTypeGuard(c, next) {
    if (WITH_BODY.has(c.req.method)) {
      // Read once here (within the limit); Hono caches it for the validators downstream.
      const text = await c.req.text()
      if (text.length > 0 && !JSON_TYPE.test(c.req.header('Content-Type') ?? ''))
        throw new UnsupportedMediaType(c.req.header('Content-Type') ?? '')
    }
    await next()
  }
}
