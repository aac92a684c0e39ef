import { describe, expect, it } from 'vitest'
import { createAnnouncements } from './announcements.ts'

const hello = (agentVersion: string, capabilities: string[]) => ({ agentVersion, capabilities })

describe('createAnnouncements', () => {
  it('does share one copy among agents announcing the same, and keep a different one apart', () => {
    const a = createAnnouncements()
    const first = a.intern(hello('1.4.0', ['image.list', 'server.info']))
    const second = a.intern(hello('1.4.0', ['image.list', 'server.info']))
    expect(second).toBe(first)
    expect(second.capabilities).toEqual(['image.list', 'server.info'])
    expect(a.intern(hello('1.5.0', ['image.list', 'server.info']))).not.toBe(first)
    expect(a.intern(hello('1.4.0', ['image.list']))).not.toBe(first)
    expect(a.intern(hello('1.4.0', ['image.list', 'server.info', 'x']))).not.toBe(first)
  })

  it('does keep what an agent announced even when its hello object changes afterwards', () => {
    const a = createAnnouncements()
    const frame = hello('1.4.0', ['image.list'])
    const kept = a.intern(frame)
    frame.capabilities.push('server.reboot')
    expect(kept.capabilities).toEqual(['image.list'])
    expect(Object.isFrozen(kept.capabilities)).toBe(true)
  })

  it('does still answer past its bound of shared announcements, without keeping the extra ones', () => {
    const a = createAnnouncements(2)
    a.intern(hello('1.0.0', []))
    a.intern(hello('1.1.0', []))
    const third = a.intern(hello('1.2.0', ['image.list']))
    expect(third.capabilities).toEqual(['image.list'])
    expect(a.intern(hello('1.2.0', ['image.list']))).not.toBe(third)
    expect(a.intern(hello('1.0.0', []))).toBe(a.intern(hello('1.0.0', [])))
  })
})
