import type { Context } from 'hono'
import type { AppEnv } from '../http/app-env.ts'
import { resourceDocument } from '../http/jsonapi.ts'
import { preferredWait } from '../http/prefer-wait.ts'
import { sendDocument, type DocumentResponse } from '../http/respond.ts'
import type { Operation } from '../generated/prisma/client.ts'
import { operationDocument } from './operation-routes.ts'
import { operationResource } from './operation-serializer.ts'
import type { OperationService } from './operation-service.ts'
import type { OperationWaiter } from './operation-wait.ts'

/**
 * The answer of a route that started an operation: 202 with the operation at once, or, when the request carries
 * `Prefer: wait=<seconds>` (RFC 7240), once the operation ended: 200 with its final document (as GET
 * /operations/{id} shows it), or 202 with its state when the wait ran out first. `Preference-Applied` says the wait
 * was honoured; Location always names the operation.
 */
export function createOperationAnswer(deps: { operations: OperationService; untilEnded: OperationWaiter }) {
  return async function answerStarted(c: Context<AppEnv>, op: Operation): Promise<DocumentResponse> {
    c.header('Location', `/operations/${op.id}`)
    const wait = preferredWait(c.req.header('prefer'))
    if (wait === undefined) return sendDocument(c, resourceDocument(operationResource(op)), 202)
    const ended = await deps.untilEnded(op.id, wait * 1000, c.req.raw.signal)
    c.header('Preference-Applied', `wait=${wait}`)
    return sendDocument(c, operationDocument(await deps.operations.get(op.id)), ended ? 200 : 202)
  }
}

export type OperationAnswer = ReturnType<typeof createOperationAnswer>
