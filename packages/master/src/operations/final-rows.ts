import type { Operation } from '../generated/prisma/client.ts'

/**
 * Hands an operation's final row from its completion path to the request that waits for it (`Prefer: wait`) in the
 * same process, so the answer is built from what the completion just wrote instead of reading the row back. Only
 * rows somebody expects are kept, and only until that request takes or forgets them: the map is as large as the
 * number of waiting requests.
 */
export function createFinalRows() {
  const expected = new Map<string, Operation | undefined>()
  return {
    /** A request is about to wait for this operation. */
    expect(operationId: string) {
      expected.set(operationId, undefined)
    },
    /** The completion path's final row (after the kind's handler ran); dropped when nobody expects it. */
    record(op: Operation) {
      if (expected.has(op.id)) expected.set(op.id, op)
    },
    /** The recorded row, if the operation ended in this process since `expect`; the expectation ends either way. */
    take(operationId: string): Operation | undefined {
      const op = expected.get(operationId)
      expected.delete(operationId)
      return op
    },
    /** Expectations held (for the bound's test). */
    size: () => expected.size,
  }
}

export type FinalRows = ReturnType<typeof createFinalRows>
