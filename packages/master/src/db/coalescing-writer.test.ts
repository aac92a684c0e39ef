import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { createCoalescingWriter } from './coalescing-writer.ts'

const logger = createLogger({ level: 'silent' })

function recorder(failFirst = 0) {
  const batches: [string, number][][] = []
  let failures = failFirst
  return {
    batches,
    write: async (batch: Map<string, number>) => {
      if (failures-- > 0) throw new Error('database away')
      batches.push([...batch])
    },
  }
}

describe('coalescing writer', () => {
  it('writes one batch per flush, the latest value per key, built from the queued one', async () => {
    const r = recorder()
    const w = createCoalescingWriter<number>({ flushMs: 60_000, write: r.write, logger, what: 'counts', retry: false })
    w.update('a', () => 1)
    w.update('b', () => 10)
    w.update('a', (queued) => (queued ?? 0) + 1)
    await w.flush()
    await w.flush()
    expect(r.batches).toEqual([
      [
        ['a', 2],
        ['b', 10],
      ],
    ])
  })

  it('queues a failed batch again where nothing newer replaced it, when asked to retry', async () => {
    const r = recorder(1)
    const w = createCoalescingWriter<number>({ flushMs: 60_000, write: r.write, logger, what: 'counts', retry: true })
    w.update('a', () => 1)
    w.update('b', () => 2)
    const failing = w.flush()
    // A newer value for b arrives while the failing batch is being written: it stands, a comes back.
    w.update('b', () => 3)
    await failing
    await w.flush()
    expect(r.batches).toEqual([
      [
        ['b', 3],
        ['a', 1],
      ],
    ])
  })

  it('drops a failed batch when not retrying, and takes nothing after stop', async () => {
    const r = recorder(1)
    const w = createCoalescingWriter<number>({ flushMs: 60_000, write: r.write, logger, what: 'counts', retry: false })
    w.update('a', () => 1)
    await w.flush()
    w.update('b', () => 2)
    await w.stop()
    w.update('c', () => 3)
    await w.flush()
    expect(r.batches).toEqual([[['b', 2]]])
  })

  it('writes by itself after flushMs', async () => {
    const r = recorder()
    const w = createCoalescingWriter<number>({ flushMs: 20, write: r.write, logger, what: 'counts', retry: false })
    w.update('a', () => 1)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(r.batches).toEqual([[['a', 1]]])
  })
})
