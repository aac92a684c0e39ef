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
import type { FinalRows } from './final-rows.ts'

/**
 * The answer of a route that started an operation: 202 with the operation at once, or, when the request carries
 * `Prefer: wait=<seconds>` (RFC 7240), once the operation ended: 200 with its final document (as GET
 * /operations/{id} shows it), or 202 with its state when the wait ran out first. `Preference-Applied` says the wait
 * was honoured; Location always names the operation.
 */
export function createOperationAnswer(deps: {
  operations: OperationService
  untilEnded: OperationWaiter
  /** The final row as this process's completion wrote it, so the answer needs no read of it (final-rows.ts). */
  finals?: FinalRows
}) {
  return async function answerStarted(c: Context<AppEnv>, op: Operation): Promise<DocumentResponse> {
    c.header('Location', `/operations/${op.id}`)
    const wait = preferredWait(c.req.header('prefer'))
    if (wait === undefined) return sendDocument(c, resourceDocument(operationResource(op)), 202)
    deps.finals?.expect(op.id)
    let final: Operation | undefined
    let ended: boolean
    try {
      ended = await deps.untilEnded(op.id, wait * 1000, c.req.raw.signal)
    } finally {
      final = deps.finals?.take(op.id)
    }
    c.header('Preference-Applied', `wait=${wait}`)
    // Ended here: the row the completion wrote, with its log (one statement); else (another replica, or the wait ran
    // out) the row as every replica reads it. A parent's document also needs its children: read in full.
    const document =
      ended && final && final.plan === null ? await deps.operations.withLog(final) : await deps.operations.get(op.id)
    return sendDocument(c, operationDocument(document), ended ? 200 : 202)
  }
}

export type OperationAnswer = ReturnType<typeof createOperationAnswer>
