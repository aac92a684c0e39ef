import { setTimeout as sleep } from 'node:timers/promises'
import type { OperationStatus } from './operation-service.ts'
import { FINAL_STATUSES } from './operation-service.ts'

/** How often a waiting request reads the row, for an operation that ends on another replica (or just before). */
const FALLBACK_READ_MS = 250

/**
 * Waits for an operation to end, for `Prefer: wait` on the routes that start one. This process wakes the request
 * from its completion path (the tracker's waiter, after the kind's handler ran); a read of the row every
 * `fallbackMs` covers what that cannot see: an operation whose agent is connected to another replica, or one that
 * ended before the waiter was registered.
 */
export function createOperationWaiter(deps: {
  /** In-process wake-up (CommandTracker.waitFor): resolves when this process settles the operation. */
  waitFor(operationId: string, ms: number, signal?: AbortSignal): Promise<unknown>
  /** The row's status, read from the database (what every replica sees). */
  readStatus(operationId: string): Promise<OperationStatus | undefined>
  fallbackMs?: number
}) {
  const fallbackMs = deps.fallbackMs ?? FALLBACK_READ_MS
  const ended = async (id: string) => {
    const status = await deps.readStatus(id)
    return status === undefined || FINAL_STATUSES.includes(status)
  }

  /**
   * Resolves true once the operation has ended (or its row is gone), false when `ms` ran out or `signal` aborted
   * (the client went away) first.
   */
  return async function untilEnded(operationId: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    const stop = new AbortController()
    const abort = () => stop.abort()
    signal?.addEventListener('abort', abort, { once: true })
    const deadline = Date.now() + ms
    try {
      // Registered before the first read, so an end between the two is seen by one of them.
      const woken = deps.waitFor(operationId, ms, stop.signal).then((settled) => settled !== undefined)
      const polled = (async () => {
        while (!stop.signal.aborted) {
          if (await ended(operationId)) return true
          const left = deadline - Date.now()
          if (left <= 0) return false
          await sleep(Math.min(fallbackMs, left), undefined, { signal: stop.signal }).catch(() => undefined)
        }
        return false
      })()
      return await Promise.race([woken, polled])
    } finally {
      stop.abort()
      signal?.removeEventListener('abort', abort)
    }
  }
}

export type OperationWaiter = ReturnType<typeof createOperationWaiter>
