import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import type { OperationService } from '../operations/operation-service.ts'
import { createCommandTracker } from './command-tracker.ts'
import type { createOperationCompletions } from '../operations/operation-completions.ts'

/** Only what settle() touches: finish() answers "already final", log() and flush() do nothing. */
function fakeOperations(): OperationService {
  const fake = { finish: async () => undefined, log: async () => undefined, logs: { flush: async () => undefined } }
  return fake as unknown as OperationService
}

function tracker(maxRefs?: number) {
  return createCommandTracker({
    prisma: {} as never,
    sql: { query: async () => [] } as never,
    operations: fakeOperations(),
    completions: {} as ReturnType<typeof createOperationCompletions>,
    logger: createLogger({ level: 'silent' }),
    ...(maxRefs ? { maxRefs } : {}),
  })
}

describe('command-tracker', () => {
  it('forgets the command of an operation settled without a result (swept by deadline or lost agent)', async () => {
    const t = tracker()
    for (let i = 0; i < 100; i++) t.remember(`cmd-${i}`, `op-${i}`, 'srv', 'test.sleep')
    expect(t.size()).toBe(100)
    for (let i = 0; i < 100; i++) await t.settle(`op-${i}`, { status: 'interrupted' })
    expect(t.size()).toBe(0)
    await t.stop()
  })

  it('remembers at most maxRefs commands', async () => {
    const t = tracker(1_000)
    for (let i = 0; i < 10_000; i++) t.remember(`cmd-${i}`, `op-${i}`, 'srv', 'test.sleep')
    expect(t.size()).toBe(1_000)
    await t.stop()
  })
})
