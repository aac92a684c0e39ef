import { EnrollRequest } from '@alfa/protocol'
import { Hono, type Context } from 'hono'
import type { Logger } from 'pino'
import type { LoginThrottle } from '../auth/login-throttle.ts'
import { Unauthorized, Invalid } from '../errors.ts'
import { throttleKeyOf } from '../http/client-address.ts'
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
    const body: unknown = await c.req.json().catch(() => undefined)
    const parsed = EnrollRequest.safeParse(body)
    if (!parsed.success) throw new Invalid(issuesFrom(parsed.error, 'json'))
    // Reserved before the token is looked up, so parallel guesses from one address cannot all reach the database.
    const attempt = deps.throttle.reserve([`enroll:${throttleKeyOf(address)}`])
    try {
      const res = await deps.credentials.enroll(parsed.data.token, {
        hostname: parsed.data.hostname,
        agentVersion: parsed.data.agentVersion,
      })
      attempt.succeeded()
      return c.json(res)
    } catch (err) {
      if (!(err instanceof AgentAuthRefused)) {
        attempt.abandoned()
        throw err
      }
      attempt.failed()
      log.warn({ address, reason: err.reason, hostname: parsed.data.hostname }, `enrollment refused: ${err.message}`)
      throw new Unauthorized(err.message)
    }
  })
  return app
}
