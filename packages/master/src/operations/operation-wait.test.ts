import { describe, expect, it } from 'vitest'
import { createCommandTracker } from '../agent-hub/command-tracker.ts'
import { createLogger } from '../logger.ts'
import type { OperationService } from './operation-service.ts'
import type { OperationStatus } from './operation-service.ts'
import { createOperationWaiter } from './operation-wait.ts'

/** A tracker whose settle() only wakes waiters: finish() answers "already final" (the row is not the point here). */
function tracker() {
  const operations = {
    finish: async () => undefined,
    log: async () => undefined,
    logs: { flush: async () => undefined },
  }
  return createCommandTracker({
    prisma: {} as never,
    sql: { query: async () => [] } as never,
    operations: operations as unknown as OperationService,
    completions: { run: async () => undefined },
    logger: createLogger({ level: 'silent' }),
  })
}

describe('operation waiter (Prefer: wait)', () => {
  it('wakes at once when this process settles the operation, without waiting for a read', async () => {
    const t = tracker()
    let reads = 0
    const untilEnded = createOperationWaiter({
      waitFor: t.waitFor,
      readStatus: async () => (reads++, 'running'),
      fallbackMs: 10_000,
    })
    const started = performance.now()
    const waiting = untilEnded('op-1', 30_000)
    setTimeout(() => void t.settle('op-1', { status: 'succeeded' }), 30)
    expect(await waiting).toBe(true)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(reads).toBe(1)
    await t.stop()
  })

  it('sees an end written by another replica through the database read', async () => {
    const t = tracker()
    let status: OperationStatus = 'running'
    setTimeout(() => (status = 'failed'), 50)
    const untilEnded = createOperationWaiter({ waitFor: t.waitFor, readStatus: async () => status, fallbackMs: 20 })
    expect(await untilEnded('op-2', 30_000)).toBe(true)
    await t.stop()
  })

  it('answers false when the wait runs out, and when the client goes away', async () => {
    const t = tracker()
    const untilEnded = createOperationWaiter({ waitFor: t.waitFor, readStatus: async () => 'running', fallbackMs: 20 })
    expect(await untilEnded('op-3', 80)).toBe(false)
    const gone = new AbortController()
    setTimeout(() => gone.abort(), 30)
    expect(await untilEnded('op-3', 30_000, gone.signal)).toBe(false)
    // The waiters were dropped: a late settle wakes nobody and nothing is left behind.
    await t.settle('op-3', { status: 'succeeded' })
    await t.stop()
  })

  it('treats an operation already ended, or a row that is gone, as ended', async () => {
    const t = tracker()
    const done = createOperationWaiter({ waitFor: t.waitFor, readStatus: async () => 'interrupted' })
    expect(await done('op-4', 30_000)).toBe(true)
    const gone = createOperationWaiter({ waitFor: t.waitFor, readStatus: async () => undefined })
    expect(await gone('op-5', 30_000)).toBe(true)
    await t.stop()
  })
})
