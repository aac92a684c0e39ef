import type { Operation } from '../generated/prisma/client.ts'

/**
 * What the master does with an agent's result beyond storing it, per operation type (record images, mark a client
 * active, …). Handlers run wherever the result arrives, including after a master restart, so they read everything
 * they need from the operation row, never from memory of the request.
 */
export type CompletionHandler = (
  op: Operation,
  outcome: { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } },
) => Promise<void>

export function createOperationCompletions() {
  const handlers = new Map<string, CompletionHandler>()
  return {
    register(type: string, handler: CompletionHandler) {
      handlers.set(type, handler)
    },
    get(type: string): CompletionHandler | undefined {
      return handlers.get(type)
    },
  }
}

export type OperationCompletions = ReturnType<typeof createOperationCompletions>
