import { describe, expect, it } from 'vitest'
import { COMMAND_DEADLINES_MS } from './deadlines.ts'
import type { CommandType } from './commands.ts'
import { isReadOnlyCommand } from './read-only.ts'

describe('isReadOnlyCommand', () => {
  it('does name the listings and probes only, and client.app only for its user count', () => {
    const types = Object.keys(COMMAND_DEADLINES_MS) as CommandType[]
    expect(types.filter((type) => isReadOnlyCommand({ type })).sort()).toEqual([
      'client.probe',
      'container.list',
      'image.list',
      'server.info',
    ])
    expect(isReadOnlyCommand({ type: 'client.app', payload: { action: 'usersCount' } })).toBe(true)
    expect(isReadOnlyCommand({ type: 'client.app', payload: { action: 'migrate' } })).toBe(false)
    // Without its payload the master cannot tell, so it acks: an ack of a forgotten result is ignored.
    expect(isReadOnlyCommand({ type: 'client.app' })).toBe(false)
  })
})
