import { describe, expect, it } from 'vitest'
import type { Operation } from '../generated/prisma/client.ts'
import { createFinalRows } from './final-rows.ts'

const row = (id: string) => ({ id, status: 'succeeded' }) as Operation

describe('createFinalRows', () => {
  it('hands a recorded row to the request that expected it, once', () => {
    const finals = createFinalRows()
    finals.expect('a')
    finals.record(row('a'))
    expect(finals.take('a')?.status).toBe('succeeded')
    expect(finals.take('a')).toBeUndefined()
    expect(finals.size()).toBe(0)
  })

  it('keeps nothing for an operation nobody waits for', () => {
    const finals = createFinalRows()
    finals.record(row('b'))
    expect(finals.size()).toBe(0)
    expect(finals.take('b')).toBeUndefined()
  })

  it('answers undefined, and forgets the expectation, when the operation did not end here', () => {
    const finals = createFinalRows()
    finals.expect('c')
    expect(finals.take('c')).toBeUndefined()
    expect(finals.size()).toBe(0)
  })
})
