import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runnerPlan } from './fleet-kinds.ts'
import { planDeploy, planMigrateAll, planSwitchAll } from './fleet-plan.ts'
import { FleetItem, fleetProgress } from './fleet-progress.ts'

const FleetResult = z.object({
  phases: z.array(z.object({ clients: z.array(z.looseObject({ firstAttempt: z.unknown().optional() })) })),
})

const id = (n: number) => `0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f7${n}`
const clients = ['a', 'b', 'c', 'd'].map((slug, n) => ({ id: id(n), slug, image: 'app:1', status: 'active' }))
const limits = { concurrency: 2, maxFailures: 1 }
const SERVER = id(9)
const items = (plan: { children: unknown[] }) => FleetItem.array().parse(plan.children)

describe('fleet plans on the parent runner', () => {
  it('switch_all: the canary is phase 0, each wave a phase after it, every later child needs the canary', () => {
    const plan = runnerPlan(planSwitchAll(SERVER, clients, 'app:2', limits))
    expect(plan.children).toMatchObject([
      { action: 'switch', slug: 'a', phase: 0, image: 'app:2' },
      { slug: 'b', phase: 1, needs: 0 },
      { slug: 'c', phase: 1, needs: 0 },
      { slug: 'd', phase: 2, needs: 0 },
    ])
    expect(plan).toMatchObject({ concurrency: 2, maxFailures: 1 })
  })

  it('migrate_all is one phase that never stops; deploy?migrate=1 chains each migrate to its deploy', () => {
    const migrate = runnerPlan(planMigrateAll(SERVER, clients, limits))
    expect(items(migrate).map((c) => c.phase)).toEqual([0, 0, 0, 0])
    expect(migrate.maxFailures).toBe(4)
    const deploy = runnerPlan(planDeploy(SERVER, clients, limits, { migrate: true }))
    expect(deploy.children).toMatchObject([
      { action: 'deploy', slug: 'a', phase: 0 },
      { action: 'deploy', slug: 'b', phase: 0 },
      { action: 'deploy', slug: 'c', phase: 1 },
      { action: 'deploy', slug: 'd', phase: 1 },
      { action: 'migrate', slug: 'a', phase: 2, needs: 0 },
      { action: 'migrate', slug: 'b', phase: 2, needs: 1 },
      { action: 'migrate', slug: 'c', phase: 2, needs: 2 },
      { action: 'migrate', slug: 'd', phase: 2, needs: 3 },
    ])
    expect(deploy.maxFailures).toBe(1)
    // A failed migrate fails the parent but never stops the other migrates; a failed deploy does stop the deploys.
    expect(items(deploy).map((c) => c.mayFail ?? false)).toEqual([
      ...[false, false, false, false],
      ...[true, true, true, true],
    ])
  })

  it('progress: per-client results from the rows, counts per status, steps, a log line per child that ended', () => {
    const others = [...clients.slice(0, 3), { ...clients[3]!, image: 'app:2' }]
    const plan = runnerPlan(planSwitchAll(SERVER, others, 'app:2', limits))
    const parent = { kind: 'server.switch_all', plan, result: null }
    const rows = [
      { id: id(5), childIndex: 0, status: 'succeeded' as const, error: null },
      { id: id(6), childIndex: 1, status: 'failed' as const, error: { code: 'EXEC_FAILED', message: 'migrate' } },
      { id: id(7), childIndex: 2, status: 'running' as const, error: null },
    ]
    const running = fleetProgress(parent, rows, false)
    expect(running.result).toMatchObject({
      kind: 'server.switch_all',
      image: 'app:2',
      counts: { succeeded: 1, failed: 1, running: 1, skipped: 1, pending: 0, not_started: 0 },
      phases: [
        {
          action: 'switch',
          clients: [
            { slug: 'a', status: 'succeeded', operationId: id(5) },
            { slug: 'b', status: 'failed', error: { code: 'EXEC_FAILED' } },
            { slug: 'c', status: 'running' },
            { slug: 'd', status: 'skipped', reason: 'already runs app:2' },
          ],
        },
      ],
    })
    expect(running.steps).toEqual([{ name: 'switch', status: 'failed' }])
    expect(running.lines?.map((l) => l.message)).toEqual([
      `a: switch succeeded (operation ${id(5)})`,
      `b: switch failed (operation ${id(6)}): EXEC_FAILED: migrate`,
    ])
    // Only what changed since the stored result is logged again; an ended parent lists who never started.
    const later = fleetProgress({ ...parent, result: running.result }, rows.slice(0, 2), true)
    expect(later.lines).toEqual([])
    expect(later.result).toMatchObject({ counts: { not_started: 1, running: 0 } })
  })

  it('progress: a child retried after an interruption shows its first attempt beside the retry', () => {
    const plan = runnerPlan(planSwitchAll(SERVER, clients, 'app:2', limits))
    const parent = { kind: 'server.switch_all', plan, result: null }
    const interrupted = { code: 'INTERRUPTED', message: 'the agent stopped while this command was running' }
    const rows = [
      { id: id(5), childIndex: -1, status: 'interrupted' as const, error: interrupted },
      { id: id(6), childIndex: 0, status: 'running' as const, error: null },
    ]
    const progress = fleetProgress(parent, rows, false)
    expect(progress.result).toMatchObject({ counts: { running: 1, interrupted: 0, pending: 3 } })
    const first = FleetResult.parse(progress.result).phases[0]!.clients[0]
    expect(first).toMatchObject({ slug: 'a', status: 'running', operationId: id(6) })
    expect(first!.firstAttempt).toEqual({ operationId: id(5), error: interrupted })
  })
})
