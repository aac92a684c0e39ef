import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { PayloadTooLarge, UnsupportedMediaType } from '../errors.ts'

const JSON_TYPE = /^application\/(vnd\.api\+json|json)\s*(;\s*charset=utf-8\s*)?$/i
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])

/**
 * Refuses bodies over the limit (counted as they stream in, so a missing or lying Content-Length does not help) and
 * bodies that are not JSON:API or plain JSON. Bodiless POSTs stay allowed: the seed's actions are offered as POST too.
 */
export function requestGuards(opts: { maxBodyBytes: number }): MiddlewareHandler[] {
  const limit = bodyLimit({
    maxSize: opts.maxBodyBytes,
    onError: () => {
      throw new PayloadTooLarge(opts.maxBodyBytes)
    },
  })
  const mediaType: MiddlewareHandler = async function mediaTypeGuard(c, next) {
    if (WITH_BODY.has(c.req.method)) {
      // Read once here (within the limit); Hono caches it for the validators downstream.
      const text = await c.req.text()
      if (text.length > 0 && !JSON_TYPE.test(c.req.header('Content-Type') ?? ''))
        throw new UnsupportedMediaType(c.req.header('Content-Type') ?? '')
    }
    await next()
  }
  return [
    async function bodyLimitGuard(c, next) {
      if (!WITH_BODY.has(c.req.method)) return next()
      return limit(c, next)
    },
    mediaType,
  ]
}
