import { describe, expect, it } from 'vitest'
import { createAgentRegistry } from './agent-registry.ts'

function conn(serverId: string) {
  const closed: string[] = []
  return {
    serverId,
    closed,
    close: (_code: number, reason: string) => {
      closed.push(reason)
    },
  }
}

describe('agent-registry', () => {
  it('keeps one connection per server and the latest wins, closing the old one', () => {
    const reg = createAgentRegistry<ReturnType<typeof conn>>()
    const a1 = conn('s1')
    const a2 = conn('s1')
    reg.add(a1)
    expect(reg.add(a2)).toBe(a1)
    expect(a1.closed).toEqual(['replaced by a newer connection'])
    expect(reg.get('s1')).toBe(a2)
    expect(reg.size).toBe(1)
  })

  it('does not let a replaced connection remove its successor', () => {
    const reg = createAgentRegistry<ReturnType<typeof conn>>()
    const a1 = conn('s1')
    const a2 = conn('s1')
    reg.add(a1)
    reg.add(a2)
    expect(reg.remove(a1)).toBe(false)
    expect(reg.get('s1')).toBe(a2)
    expect(reg.remove(a2)).toBe(true)
    expect(reg.get('s1')).toBeUndefined()
  })
})
