import { describe, expect, it } from 'vitest'
import { placementOf, readiness, startOrder, type Placement } from './parent-order.ts'

/** Which of the unstarted children would start, given the statuses of those with rows (as the runner loops). */
function ready(places: Placement[], rows: Record<number, string>) {
  const blocked = new Set<number>()
  const out: number[] = []
  for (const i of startOrder(places)) {
    if (rows[i] !== undefined) continue
    const r = readiness(i, places, (j) => rows[j], blocked)
    if (r === 'blocked') blocked.add(i)
    if (r === 'ready') out.push(i)
  }
  return { ready: out, blocked: [...blocked] }
}

describe('parent order', () => {
  it('reads phase and needs from an item, phase 0 without them (test.batch items have neither)', () => {
    expect(placementOf({ phase: 2, needs: 0, other: 'x' })).toEqual({ phase: 2, needs: 0 })
    expect(placementOf({ serverId: 'x' })).toEqual({ phase: 0 })
    expect(placementOf(null)).toEqual({ phase: 0 })
    expect(placementOf({ phase: -1 })).toEqual({ phase: 0 })
    expect(placementOf({ phase: 1, mayFail: true })).toEqual({ phase: 1, mayFail: true })
  })

  it('a canary runs alone; the next wave starts once it succeeded, the one after once that wave ended', () => {
    const places = [{ phase: 0 }, { phase: 1, needs: 0 }, { phase: 1, needs: 0 }, { phase: 2, needs: 0 }]
    expect(ready(places, {}).ready).toEqual([0])
    expect(ready(places, { 0: 'running' }).ready).toEqual([])
    expect(ready(places, { 0: 'succeeded' }).ready).toEqual([1, 2])
    expect(ready(places, { 0: 'succeeded', 1: 'succeeded', 2: 'running' }).ready).toEqual([])
    expect(ready(places, { 0: 'succeeded', 1: 'succeeded', 2: 'failed' }).ready).toEqual([3])
  })

  it('a failed canary blocks every later child; a migrate waits for its own deploy only', () => {
    const canary = [{ phase: 0 }, { phase: 1, needs: 0 }, { phase: 2, needs: 0 }]
    expect(ready(canary, { 0: 'interrupted' })).toEqual({ ready: [], blocked: [1, 2] })
    const deployThenMigrate = [{ phase: 0 }, { phase: 0 }, { phase: 1, needs: 0 }, { phase: 1, needs: 1 }]
    expect(ready(deployThenMigrate, { 0: 'failed', 1: 'succeeded' })).toEqual({ ready: [3], blocked: [2] })
    expect(ready(deployThenMigrate, { 0: 'failed', 1: 'running' })).toEqual({ ready: [], blocked: [2] })
  })

  it('starts in phase order whatever the order of the plan', () => {
    expect(startOrder([{ phase: 1 }, { phase: 0 }, { phase: 1 }, { phase: 0 }])).toEqual([1, 3, 0, 2])
  })
})
