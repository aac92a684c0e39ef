import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { TooManyRequests, Unauthorized } from '../errors.ts'
import type { AdminCredentials } from './admin-credentials.ts'
import { throttleKeyOf } from '../http/client-address.ts'
import type { LoginThrottle } from './login-throttle.ts'

export interface AuthVariables {
  /** The authenticated admin login, for `requestedBy` on operations. */
  adminUser: string
  /** The login a refused password was tried for (for the audit log; never the password). */
  refusedLogin?: string
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (!header) return undefined
  const m = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header.trim())
  if (!m) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * Basic Auth against the admin credential, throttled per (login, address) and per address, never per login alone:
 * a stranger hammering the only account from one address must not lock the admin out from another. The attempt is
 * reserved before the password hash runs. Failures are logged with the login and address, never the password.
 */
export function basicAuth(deps: {
  credentials: AdminCredentials
  throttle: LoginThrottle
  logger: Logger
  clientAddress: (c: Parameters<MiddlewareHandler>[0]) => string
}): MiddlewareHandler<{ Variables: AuthVariables }> {
  const log = deps.logger.child({ component: 'basic-auth' })
  return async function basicAuthMiddleware(c, next) {
    const creds = parseBasic(c.req.header('Authorization'))
    if (!creds) throw new Unauthorized()
    const address = deps.clientAddress(c)
    const source = throttleKeyOf(address)
    const pair = `pair:${source}\0${creds.user}`
    let ok: boolean
    try {
      ok = await deps.credentials.verify(creds.user, creds.password, () =>
        deps.throttle.reserve([pair, `addr:${source}`], { clearOnSuccess: [pair] }),
      )
    } catch (err) {
      if (err instanceof TooManyRequests)
        log.warn({ user: creds.user, address, retryAfter: err.retryAfterSeconds }, 'login refused: throttled')
      throw err
    }
    if (!ok) {
      c.set('refusedLogin', creds.user)
      log.warn({ user: creds.user, address }, 'login failed: wrong user or password')
      throw new Unauthorized('wrong user or password')
    }
    c.set('adminUser', creds.user)
    await next()
  }
}
