import { wavesOf, type ChildAction, type FleetPlan, type PlannedChild } from './fleet-plan.ts'
import { initialProgress, summarize, type ChildState, type FleetProgress } from './fleet-progress.ts'

/** How a child ended, as its own operation says. */
export interface ChildOutcome {
  status: 'succeeded' | 'failed' | 'interrupted'
  operationId?: string
  error?: { code: string; message: string }
}

/**
 * Starts one child and resolves when it has ended. `known` is the child's operation when a resumed parent had
 * started it already: the implementation waits for that one instead of starting another (a child never runs twice).
 * `started` reports the new operation's id as soon as it exists.
 */
export type StartChild = (
  action: ChildAction,
  child: PlannedChild,
  opts: { known?: string; started: (operationId: string) => void },
) => Promise<ChildOutcome>

export interface FleetLoopOptions {
  /** Progress stored by an earlier run of the same plan: finished children are kept, running ones awaited. */
  resumeFrom?: FleetProgress
  /** Called after every change (store it: it is the parent's result). */
  onChange?: (progress: FleetProgress) => Promise<void> | void
  /** Cancel: no new child starts once aborted; children in flight end on their own. */
  signal?: AbortSignal
}

const FINAL = new Set(['succeeded', 'failed', 'interrupted', 'skipped', 'not_started'])

/**
 * Runs a fleet plan: phase after phase, each in waves (the canary alone first, then `concurrency` at a time), no
 * new child once `maxFailures` children failed (or the canary did), nor after a cancel. Returns the final progress,
 * in which every client has a final state.
 */
export async function runFleetPlan(
  plan: FleetPlan,
  startChild: StartChild,
  opts: FleetLoopOptions = {},
): Promise<FleetProgress> {
  const start = opts.resumeFrom ?? initialProgress(plan)
  const states: ChildState[][] = plan.phases.map((_, i) => start.phases[i]?.clients.map((c) => ({ ...c })) ?? [])
  const progress = () => summarize(plan, (i) => states[i]!.map((c) => ({ ...c })))
  const changed = async () => opts.onChange?.(progress())

  for (const [index, phase] of plan.phases.entries()) {
    const mine = states[index]!
    const stateOf = (c: PlannedChild) => mine.find((s) => s.clientId === c.clientId)!
    if (phase.afterPrevious && index > 0) {
      const ok = new Set(states[index - 1]!.filter((s) => s.status === 'succeeded').map((s) => s.clientId))
      for (const c of phase.children) {
        const s = stateOf(c)
        if (!ok.has(c.clientId) && s.status === 'pending')
          Object.assign(s, { status: 'skipped', reason: `its ${plan.phases[index - 1]!.action} did not succeed` })
      }
    }
    const failures = () => mine.filter((s) => s.status === 'failed' || s.status === 'interrupted').length
    const holdBack = (why: string) => {
      for (const s of mine) if (s.status === 'pending') Object.assign(s, { status: 'not_started', reason: why })
    }

    for (const [waveIndex, wave] of wavesOf(phase).entries()) {
      if (opts.signal?.aborted) holdBack('cancelled')
      else if (phase.maxFailures !== null && failures() >= phase.maxFailures)
        holdBack(`${failures()} failed, the limit is ${phase.maxFailures}`)
      else if (phase.canary && waveIndex === 1 && stateOf(phase.children[0]!).status !== 'succeeded')
        holdBack(`the canary ${phase.children[0]!.slug} did not succeed`)
      const runnable = wave.filter((c) => !FINAL.has(stateOf(c).status))
      await Promise.all(
        runnable.map(async (c) => {
          const s = stateOf(c)
          const known = s.status === 'running' ? s.operationId : undefined
          s.status = 'running'
          const outcome = await startChild(phase.action, c, {
            ...(known ? { known } : {}),
            started: (operationId) => {
              s.operationId = operationId
              void changed()
            },
          }).catch((error: unknown): ChildOutcome => ({
            status: 'failed',
            error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) },
          }))
          Object.assign(s, outcome)
          await changed()
        }),
      )
    }
    await changed()
  }
  return progress()
}
