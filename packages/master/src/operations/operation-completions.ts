import type { OperationCompletions, Settled } from '../agent-hub/command-tracker.ts'
import type { Operation } from '../generated/prisma/client.ts'
import type { KindContext } from './kind-context.ts'
import type { KindOutcome } from './kind-spec.ts'
import { isOperationKind, OPERATION_KINDS } from './operation-kinds.ts'

/**
 * What follows the end of an operation: its kind's handler (with the protocol's payload and result types), then
 * the next step of its parent, if it has one.
 */
export function createOperationCompletions(deps: {
  context(): KindContext
  childEnded(parentId: string): void
  /** The final row, once its handler ran (for a request waiting for it in this process: final-rows.ts). */
  ended?(op: Operation): void
}): OperationCompletions {
  return {
    async run(op: Operation, settled: Settled) {
      try {
        if (!isOperationKind(op.kind)) throw new Error(`operation ${op.id} has an unknown kind ${op.kind}`)
        const spec = OPERATION_KINDS[op.kind]
        const outcome: KindOutcome =
          settled.status === 'succeeded'
            ? { ok: true, data: settled.result }
            : { ok: false, error: settled.error ?? { code: 'INTERNAL', message: `operation ${settled.status}` } }
        if (!spec.parent) await spec.complete(deps.context(), op, outcome)
      } finally {
        deps.ended?.(op)
        if (op.parentId) deps.childEnded(op.parentId)
      }
    },
  }
}
