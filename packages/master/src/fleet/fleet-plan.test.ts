import { describe, expect, it } from 'vitest'
import { planDeploy, planMigrateAll, planSwitchAll, wavesOf, type FleetClient } from './fleet-plan.ts'

const SERVER = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70'
const client = (slug: string, image: string | null = 'app:1', status = 'active'): FleetClient => ({
  id: `id-${slug}`,
  slug,
  image,
  status,
})
const limits = { concurrency: 2, maxFailures: 1 }

describe('planSwitchAll', () => {
  it('switches every active client not on the image, in slug order, canary first then waves of 2', () => {
    const plan = planSwitchAll(
      SERVER,
      [client('e'), client('b'), client('d', 'app:2'), client('a'), client('c', 'app:1', 'failed'), client('f')],
      'app:2',
      limits,
    )
    const phase = plan.phases[0]!
    expect(phase.children.map((c) => c.slug)).toEqual(['a', 'b', 'e', 'f'])
    expect(wavesOf(phase).map((w) => w.map((c) => c.slug))).toEqual([['a'], ['b', 'e'], ['f']])
    expect(phase.skipped).toEqual([
      { clientId: 'id-d', slug: 'd', reason: 'already runs app:2' },
      { clientId: 'id-c', slug: 'c', reason: 'not active (failed)' },
    ])
    expect(phase).toMatchObject({ action: 'switch', canary: true, maxFailures: 1 })
  })

  it('leaves deleted clients out entirely', () => {
    const plan = planSwitchAll(SERVER, [client('a', 'app:1', 'deleted')], 'app:2', limits)
    expect(plan.phases[0]!.children).toEqual([])
    expect(plan.phases[0]!.skipped).toEqual([])
  })
})

describe('planMigrateAll', () => {
  it('takes every active client, continues past failures, skips the inactive', () => {
    const phase = planMigrateAll(SERVER, [client('b'), client('a'), client('c', 'app:1', 'creating')], limits)
      .phases[0]!
    expect(phase.children.map((c) => c.slug)).toEqual(['a', 'b'])
    expect(phase.maxFailures).toBeNull()
    expect(phase.canary).toBe(false)
    expect(phase.skipped.map((s) => [s.slug, s.reason])).toEqual([['c', 'not active (creating)']])
  })
})

describe('planDeploy', () => {
  it('deploys in waves with the failure limit; migrate=1 adds migrate_all for the clients that deployed', () => {
    const plain = planDeploy(SERVER, [client('a'), client('b'), client('c')], limits, { migrate: false })
    expect(plain.phases.map((p) => p.action)).toEqual(['deploy'])
    expect(wavesOf(plain.phases[0]!).map((w) => w.length)).toEqual([2, 1])
    const chained = planDeploy(SERVER, [client('a')], limits, { migrate: true })
    expect(chained.phases.map((p) => [p.action, p.afterPrevious])).toEqual([
      ['deploy', false],
      ['migrate', true],
    ])
  })
})
