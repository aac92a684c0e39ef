import { describe, expect, it } from 'vitest'
import { COMMAND_TYPES } from './commands.ts'
import { COMMAND_DEADLINES_MS } from './deadlines.ts'
import { LIMITS } from './limits.ts'
import { imageTag } from './image-refs.ts'

describe('COMMAND_DEADLINES_MS', () => {
  it('gives every command type a deadline within the wire limit', () => {
    for (const type of COMMAND_TYPES) {
      expect(COMMAND_DEADLINES_MS[type]).toBeGreaterThan(0)
      expect(COMMAND_DEADLINES_MS[type]).toBeLessThanOrEqual(LIMITS.deadlineMs)
    }
  })
})

describe('imageTag', () => {
  it('returns the part after the last colon, or null', () => {
    expect(imageTag('alfa/mol:1.2.3-master')).toBe('1.2.3-master')
    expect(imageTag('alfa/mol')).toBeNull()
  })
})
