import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'

/** Each request measures itself at the top and logs method, path, status and duration (never headers or bodies). */
export function requestLog(logger: Logger): MiddlewareHandler {
  const log = logger.child({ component: 'http' })
  return async function requestLogMiddleware(c, next) {
    const started = performance.now()
    await next()
    const ms = Math.round((performance.now() - started) * 10) / 10
    const status = c.res.status
    const level = status >= 500 ? 'error' : 'debug'
    // The fields are built only for a line that is written: c.req.path parses the URL again, on every request.
    if (log.isLevelEnabled(level)) log[level]({ method: c.req.method, path: c.req.path, status, ms }, 'request')
  }
}
