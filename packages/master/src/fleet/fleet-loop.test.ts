import { describe, expect, it } from 'vitest'
import { runFleetPlan, type ChildOutcome, type StartChild } from './fleet-loop.ts'
import { planDeploy, planMigrateAll, planSwitchAll, type FleetClient } from './fleet-plan.ts'
import { initialProgress, parentStatus } from './fleet-progress.ts'

const SERVER = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70'
const clients = (...slugs: string[]): FleetClient[] =>
  slugs.map((slug) => ({ id: `id-${slug}`, slug, image: 'app:1', status: 'active' }))
const limits = { concurrency: 2, maxFailures: 1 }

/** A fake child starter: records starts and concurrency, fails the slugs given. */
function fakeChildren(failing: string[] = []) {
  const started: string[] = []
  let inFlight = 0
  let maxInFlight = 0
  const start: StartChild = async (action, child, opts) => {
    started.push(`${action}:${child.slug}`)
    opts.started(`op-${action}-${child.slug}`)
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    await new Promise((r) => setTimeout(r, 5))
    inFlight--
    const outcome: ChildOutcome = failing.includes(child.slug)
      ? { status: 'failed', operationId: `op-${action}-${child.slug}`, error: { code: 'EXEC_FAILED', message: 'no' } }
      : { status: 'succeeded', operationId: `op-${action}-${child.slug}` }
    return outcome
  }
  return { start, started, maxInFlight: () => maxInFlight }
}

describe('runFleetPlan', () => {
  it('switch_all: canary, then waves of 2; stops starting children after the first failure', async () => {
    const plan = planSwitchAll(SERVER, clients('a', 'b', 'c', 'd', 'e'), 'app:2', limits)
    const f = fakeChildren(['c'])
    const seen: number[] = []
    const result = await runFleetPlan(plan, f.start, { onChange: (p) => void seen.push(p.counts.succeeded) })
    expect(f.started).toEqual(['switch:a', 'switch:b', 'switch:c'])
    expect(f.maxInFlight()).toBe(2)
    expect(result.phases[0]!.clients.map((c) => [c.slug, c.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['c', 'failed'],
      ['d', 'not_started'],
      ['e', 'not_started'],
    ])
    expect(result.counts).toMatchObject({ succeeded: 2, failed: 1, not_started: 2, pending: 0, running: 0 })
    expect(result.phases[0]!.clients[2]).toMatchObject({ operationId: 'op-switch-c', error: { code: 'EXEC_FAILED' } })
    expect(parentStatus(result)).toBe('failed')
    expect(Math.max(...seen)).toBe(2)
  })

  it('switch_all: a failed canary stops everything even with a higher failure limit', async () => {
    const plan = planSwitchAll(SERVER, clients('a', 'b', 'c'), 'app:2', { concurrency: 2, maxFailures: 5 })
    const f = fakeChildren(['a'])
    const result = await runFleetPlan(plan, f.start)
    expect(f.started).toEqual(['switch:a'])
    expect(result.counts).toMatchObject({ failed: 1, not_started: 2 })
  })

  it('migrate_all continues past failures and reports succeeded, failed and skipped', async () => {
    const all = [...clients('a', 'b', 'c', 'd'), { id: 'id-z', slug: 'z', image: 'app:1', status: 'failed' }]
    const f = fakeChildren(['b'])
    const result = await runFleetPlan(planMigrateAll(SERVER, all, limits), f.start)
    expect(f.started).toHaveLength(4)
    expect(result.counts).toMatchObject({ succeeded: 3, failed: 1, skipped: 1, not_started: 0 })
    expect(parentStatus(result)).toBe('failed')
  })

  it('deploy?migrate=1 migrates only the clients whose deploy succeeded', async () => {
    const plan = planDeploy(SERVER, clients('a', 'b', 'c'), { concurrency: 2, maxFailures: 3 }, { migrate: true })
    const f = fakeChildren(['b'])
    const result = await runFleetPlan(plan, (action, child, opts) =>
      action === 'deploy' ? f.start(action, child, opts) : fakeChildren().start(action, child, opts),
    )
    expect(result.phases[1]!.clients.map((c) => [c.slug, c.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'skipped'],
      ['c', 'succeeded'],
    ])
  })

  it('a resumed run keeps finished children and re-attaches the running one instead of starting it again', async () => {
    const plan = planMigrateAll(SERVER, clients('a', 'b', 'c'), limits)
    const stored = initialProgress(plan)
    Object.assign(stored.phases[0]!.clients[0]!, { status: 'succeeded', operationId: 'op-old-a' })
    Object.assign(stored.phases[0]!.clients[1]!, { status: 'running', operationId: 'op-old-b' })
    const calls: [string, string | undefined][] = []
    const result = await runFleetPlan(
      plan,
      async (_action, child, opts) => {
        calls.push([child.slug, opts.known])
        return { status: 'succeeded', operationId: opts.known ?? `op-new-${child.slug}` }
      },
      { resumeFrom: stored },
    )
    expect(calls).toEqual([
      ['b', 'op-old-b'],
      ['c', undefined],
    ])
    expect(result.phases[0]!.clients.map((c) => c.operationId)).toEqual(['op-old-a', 'op-old-b', 'op-new-c'])
    expect(parentStatus(result)).toBe('succeeded')
  })

  it('a cancel starts no new child; a thrown start counts as a failed child', async () => {
    const controller = new AbortController()
    const plan = planMigrateAll(SERVER, clients('a', 'b', 'c'), limits)
    const result = await runFleetPlan(
      plan,
      async (_action, child) => {
        controller.abort()
        if (child.slug === 'a') throw new Error('agent offline')
        return { status: 'succeeded' }
      },
      { signal: controller.signal },
    )
    expect(result.phases[0]!.clients.map((c) => c.status)).toEqual(['failed', 'succeeded', 'not_started'])
    expect(result.phases[0]!.clients[0]!.error?.message).toBe('agent offline')
  })
})
