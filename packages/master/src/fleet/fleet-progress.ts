import type { ChildAction, FleetKind, FleetPlan, PlannedChild } from './fleet-plan.ts'

/** Where one client stands in a fleet operation. `not_started`: left out once the failure limit was reached. */
export type ChildStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'interrupted' | 'skipped' | 'not_started'
export const CHILD_STATUSES: readonly ChildStatus[] = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'interrupted',
  'skipped',
  'not_started',
]

export interface ChildState extends PlannedChild {
  status: ChildStatus
  /** The child's own operation (GET /operations/{id} has its steps and log). */
  operationId?: string
  /** Why it failed, as the child's operation says. */
  error?: { code: string; message: string }
  /** Why it was skipped or not started. */
  reason?: string
}

export type StatusCounts = Record<ChildStatus, number>

export interface PhaseProgress {
  action: ChildAction
  counts: StatusCounts
  clients: ChildState[]
}

/** A parent's result: per-status counts (for a progress bar) and every client's state, per phase. */
export interface FleetProgress {
  kind: FleetKind
  image?: string
  counts: StatusCounts
  phases: PhaseProgress[]
}

export function countByStatus(states: readonly ChildState[]): StatusCounts {
  const counts = Object.fromEntries(CHILD_STATUSES.map((s) => [s, 0])) as StatusCounts
  for (const s of states) counts[s.status]++
  return counts
}

/** The progress of a plan nothing has run of yet: children pending, left-out clients skipped with their reason. */
export function initialProgress(plan: FleetPlan): FleetProgress {
  return summarize(plan, (phaseIndex) => {
    const phase = plan.phases[phaseIndex]!
    return [
      ...phase.children.map((c): ChildState => ({ ...c, status: 'pending' })),
      ...phase.skipped.map((c): ChildState => ({ ...c, status: 'skipped' })),
    ]
  })
}

/** Recounts every phase and the whole from the client states. */
export function summarize(plan: FleetPlan, statesOf: (phaseIndex: number) => ChildState[]): FleetProgress {
  const phases = plan.phases.map((phase, i) => {
    const clients = statesOf(i)
    return { action: phase.action, counts: countByStatus(clients), clients }
  })
  return {
    kind: plan.kind,
    ...(plan.image ? { image: plan.image } : {}),
    counts: countByStatus(phases.flatMap((p) => p.clients)),
    phases,
  }
}

/** A parent succeeds when no child failed, was interrupted or was held back by the failure limit. */
export function parentStatus(progress: FleetProgress): 'succeeded' | 'failed' {
  const { failed, interrupted, not_started: notStarted } = progress.counts
  return failed + interrupted + notStarted === 0 ? 'succeeded' : 'failed'
}
