import { describe, expect, it } from 'vitest'
import { createImageGate } from './image-gate.ts'

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('image gate', () => {
  it('lets creates overlap, and runs a removal only when no create is in its section', async () => {
    const gate = createImageGate()
    const events: string[] = []
    let releaseA!: () => void
    const a = gate.creating(async () => {
      events.push('create a start')
      await new Promise<void>((resolve) => (releaseA = resolve))
      events.push('create a end')
    })
    const b = gate.creating(async () => {
      events.push('create b')
    })
    const removal = gate.removing(async () => {
      events.push('remove')
    })
    const c = gate.creating(async () => {
      events.push('create c')
    })
    await tick()
    // b overlapped a; the removal waits for a; c (queued after the removal) waits for the removal.
    expect(events).toEqual(['create a start', 'create b'])
    releaseA()
    await Promise.all([a, b, removal, c])
    expect(events).toEqual(['create a start', 'create b', 'create a end', 'remove', 'create c'])
  })

  it('releases the gate when a section throws', async () => {
    const gate = createImageGate()
    await expect(gate.removing(() => Promise.reject(new Error('docker said no')))).rejects.toThrow('docker said no')
    await expect(gate.creating(async () => 'made')).resolves.toBe('made')
  })
})
