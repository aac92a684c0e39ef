import { describe, expect, it } from 'vitest'
import { canRun, capabilitiesSchema, requiredCapability } from './capabilities.ts'
import { COMMAND_TYPES } from './commands.ts'

describe('capabilities', () => {
  it('does name one distinct capability per command type', () => {
    const names = COMMAND_TYPES.map(requiredCapability)
    expect(new Set(names).size).toBe(COMMAND_TYPES.length)
    expect(capabilitiesSchema.safeParse(names).success).toBe(true)
  })

  it('does tell whether an agent announced what a command needs', () => {
    expect(canRun(['server.info', 'image.list'], 'image.list')).toBe(true)
    expect(canRun(['server.info'], 'client.create')).toBe(false)
  })

  it('does accept unknown but well-formed names and refuse odd ones', () => {
    expect(capabilitiesSchema.safeParse(['db.postgresql', 'future-thing']).success).toBe(true)
    expect(capabilitiesSchema.safeParse(['Bad Name']).success).toBe(false)
    expect(capabilitiesSchema.safeParse(['$(id)']).success).toBe(false)
    expect(capabilitiesSchema.safeParse(Array.from({ length: 257 }, (_, i) => `c${i}`)).success).toBe(false)
  })
})
