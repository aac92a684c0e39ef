import { EnrollRequest } from '@alfa/protocol'
import { Hono, type Context } from 'hono'
import type { Logger } from 'pino'
import type { LoginThrottle } from '../auth/login-throttle.ts'
import { TooManyRequests, Unauthorized, Invalid } from '../errors.ts'
import { issuesFrom } from '../http/validation.ts'
import { AgentAuthRefused, type AgentCredentials } from './agent-credentials.ts'

/**
 * POST /agent/enroll: the one HTTP call an agent makes before it has a credential. Authenticated by the one-time
 * token instead of Basic Auth; failures are throttled per address like logins.
 */
export function enrollRoute(deps: {
  credentials: AgentCredentials
  throttle: LoginThrottle
  logger: Logger
  clientAddress: (c: Context) => string
}) {
  const log = deps.logger.child({ component: 'enrollment' })
  const app = new Hono()
  app.post('/agent/enroll', async (c) => {
    const address = deps.clientAddress(c)
    const key = [`enroll:${address}`]
    const wait = deps.throttle.retryAfter(key)
    if (wait > 0) throw new TooManyRequests(wait)
    const body: unknown = await c.req.json().catch(() => undefined)
    const parsed = EnrollRequest.safeParse(body)
    if (!parsed.success) throw new Invalid(issuesFrom(parsed.error, 'json'))
    try {
      const res = await deps.credentials.enroll(parsed.data.token, {
        hostname: parsed.data.hostname,
        agentVersion: parsed.data.agentVersion,
      })
      return c.json(res)
    } catch (err) {
      if (!(err instanceof AgentAuthRefused)) throw err
      deps.throttle.fail(key)
      log.warn({ address, reason: err.reason, hostname: parsed.data.hostname }, `enrollment refused: ${err.message}`)
      throw new Unauthorized(err.message)
    }
  })
  return app
}
