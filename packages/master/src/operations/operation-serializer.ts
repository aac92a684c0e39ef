import type { ResourceObject } from '../http/jsonapi.ts'
import type { Operation, OperationLog } from '../generated/prisma/client.ts'
import { ParentPlan } from './parent-runner.ts'

/** One log line as the API shows it (the seed's create_log uses the same shape). */
export function logLineOut(l: OperationLog) {
  return { seq: l.seq, ts: l.ts.toISOString(), stream: l.stream, level: l.level, step: l.step, message: l.message }
}

const ref = (id: string) => ({ type: 'operations', id })

/** How a parent's children stand: planned, not started yet, and per status. */
export function childProgress(op: Operation, children: Pick<Operation, 'status' | 'childIndex'>[]) {
  const plan = ParentPlan.safeParse(op.plan)
  const total = plan.success ? plan.data.children.length : children.length
  // A retried child's first attempt (childIndex below zero) is not a place of the plan.
  children = children.filter((c) => c.childIndex === null || c.childIndex >= 0)
  const count = (status: Operation['status']) => children.filter((c) => c.status === status).length
  return {
    total,
    notStarted: total - children.length,
    queued: count('queued'),
    running: count('running'),
    succeeded: count('succeeded'),
    failed: count('failed'),
    interrupted: count('interrupted'),
  }
}

/** An operation row (with its log and children when loaded) as a JSON:API resource. */
export function operationResource(op: Operation & { logs?: OperationLog[]; children?: Operation[] }): ResourceObject {
  const isParent = op.plan !== null
  return {
    type: 'operations',
    id: op.id,
    attributes: {
      kind: op.kind,
      status: op.status,
      serverId: op.serverId,
      clientId: op.clientId,
      requestedBy: op.requestedBy,
      steps: op.steps,
      result: op.result,
      error: op.error,
      createdAt: op.createdAt.toISOString(),
      startedAt: op.startedAt?.toISOString() ?? null,
      finishedAt: op.finishedAt?.toISOString() ?? null,
      cancelledAt: op.cancelledAt?.toISOString() ?? null,
      childIndex: op.childIndex,
      lastSeq: op.logSeq,
      ...(isParent && op.children ? { progress: childProgress(op, op.children) } : {}),
      ...(op.logs ? { log: op.logs.map(logLineOut) } : {}),
    },
    relationships: {
      parent: { data: op.parentId ? ref(op.parentId) : null },
      ...(isParent && op.children ? { children: { data: op.children.map((c) => ref(c.id)) } } : {}),
    },
    links: { self: `/operations/${op.id}` },
  }
}
