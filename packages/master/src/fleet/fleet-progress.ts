import { z } from 'zod'
import type { ChildRow, ParentProgress } from '../operations/kind-spec.ts'
import { firstAttemptIndex } from '../operations/parent-retry.ts'
import type { LogLine } from '../operations/operation-log-writer.ts'
import type { FleetKind } from './fleet-plan.ts'

/** Where one client stands in a fleet operation. `not_started`: the parent ended before it could start. */
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

const Action = z.enum(['switch', 'migrate', 'deploy'])
/** One planned child as stored in the parent's plan (the runner reads `phase` and `needs`). */
export const FleetItem = z.object({
  action: Action,
  clientId: z.uuid(),
  slug: z.string(),
  phase: z.int().min(0),
  needs: z.int().min(0).optional(),
  mayFail: z.boolean().optional(),
  image: z.string().optional(),
})
export type FleetItem = z.infer<typeof FleetItem>
/** What the plan keeps beside its children: the phases in order, each with the clients it leaves out and why. */
export const FleetAbout = z.object({
  image: z.string().optional(),
  phases: z.array(
    z.object({
      action: Action,
      skipped: z.array(z.object({ clientId: z.string(), slug: z.string(), reason: z.string() })),
    }),
  ),
})
export type FleetAbout = z.infer<typeof FleetAbout>
const Stored = z.object({ children: z.array(FleetItem), about: FleetAbout })
const ChildError = z.object({ code: z.string(), message: z.string() })
const Previous = z.object({
  phases: z.array(z.object({ clients: z.array(z.object({ clientId: z.string(), status: z.string() })) })),
})

export type ChildState = {
  clientId: string
  slug: string
  status: ChildStatus
  /** The child's own operation (GET /operations/{id} has its steps and log). */
  operationId?: string
  /** Why it failed, as the child's operation says. */
  error?: { code: string; message: string }
  /** Why it was skipped or not started. */
  reason?: string
  /** An earlier attempt that was interrupted (an agent restart): the runner started the child once more. */
  firstAttempt?: { operationId: string; error?: { code: string; message: string } }
}

export type StatusCounts = Record<ChildStatus, number>

export function countByStatus(states: readonly ChildState[]): StatusCounts {
  const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, interrupted: 0, skipped: 0, not_started: 0 }
  for (const s of states) counts[s.status]++
  return counts
}

function stateOf(item: FleetItem, row: ChildRow | undefined, ended: boolean, first?: ChildRow): ChildState {
  const firstError = ChildError.safeParse(first?.error)
  const base = {
    clientId: item.clientId,
    slug: item.slug,
    ...(first
      ? { firstAttempt: { operationId: first.id, ...(firstError.success ? { error: firstError.data } : {}) } }
      : {}),
  }
  if (!row)
    return ended ? { ...base, status: 'not_started', reason: 'the parent ended first' } : { ...base, status: 'pending' }
  const status = row.status === 'queued' ? 'running' : row.status
  const error = ChildError.safeParse(row.error)
  return {
    ...base,
    status,
    operationId: row.id,
    ...(error.success && status !== 'succeeded' ? { error: error.data } : {}),
  }
}

function stepStatus(clients: readonly ChildState[]): string {
  const n = countByStatus(clients)
  if (n.failed + n.interrupted > 0) return 'failed'
  if (n.succeeded + n.skipped === clients.length) return 'done'
  return n.running + n.succeeded > 0 ? 'running' : 'pending'
}

/**
 * A fleet parent's progress from its stored plan and its children's rows: per phase, every client's state (with its
 * operation and error) and a count per status, for a progress bar; a step per phase; a log line per child that ended
 * since the stored result.
 */
export function fleetProgress(
  parent: { kind: string; plan: unknown; result: unknown },
  children: ChildRow[],
  ended: boolean,
): ParentProgress {
  const plan = Stored.safeParse(parent.plan)
  if (!plan.success) return { result: { kind: parent.kind, error: 'the stored plan is not a fleet plan' } }
  const rows = new Map(children.map((c) => [c.childIndex, c]))
  const phases = plan.data.about.phases.map((phase) => {
    const clients: ChildState[] = [
      ...plan.data.children.flatMap((item, i) =>
        item.action === phase.action ? [stateOf(item, rows.get(i), ended, rows.get(firstAttemptIndex(i)))] : [],
      ),
      ...phase.skipped.map((s): ChildState => ({ ...s, status: 'skipped' })),
    ]
    return { action: phase.action, counts: countByStatus(clients), clients }
  })
  const before = Previous.safeParse(parent.result)
  const was = (p: number, clientId: string) =>
    before.success ? before.data.phases[p]?.clients.find((c) => c.clientId === clientId)?.status : undefined
  const lines: LogLine[] = phases.flatMap((phase, p) =>
    phase.clients
      .filter((c) => ['succeeded', 'failed', 'interrupted'].includes(c.status) && was(p, c.clientId) !== c.status)
      .map((c) => ({
        level: c.status === 'succeeded' ? 'info' : 'error',
        step: phase.action,
        message: `${c.slug}: ${phase.action} ${c.status} (operation ${c.operationId ?? 'none'})${c.error ? `: ${c.error.code}: ${c.error.message}` : ''}`,
      })),
  )
  const kind: FleetKind | string = parent.kind
  return {
    result: {
      kind,
      ...(plan.data.about.image ? { image: plan.data.about.image } : {}),
      counts: countByStatus(phases.flatMap((p) => p.clients)),
      phases: phases.map((p) => ({ ...p, clients: p.clients.map((c) => ({ ...c })) })),
    },
    steps: phases.map((p) => ({ name: p.action, status: stepStatus(p.clients) })),
    lines,
  }
}
