import type { Logger } from 'pino'
import { z } from 'zod'
import type { Settled } from '../agent-hub/command-tracker.ts'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import { AgentOffline, Conflict, NotFound } from '../errors.ts'
import type { Operation, Prisma, PrismaClient } from '../generated/prisma/client.ts'
import { lockKeyOf } from './kind-spec.ts'
import { assertIdle } from './operation-begin.ts'
import { placementOf, readiness, startOrder } from './parent-order.ts'
import { createChildRetry } from './parent-retry.ts'
import type { KindContext } from './kind-context.ts'
import { isOperationKind, OPERATION_KINDS, PARENT_KIND_NAMES, type ParentKind } from './operation-kinds.ts'
import type { OperationService } from './operation-service.ts'

/** A parent's stored plan: what it runs, how many at once, and after how many failures it starts no more. */
export const ParentPlan = z.object({
  concurrency: z.int().min(1).max(1000),
  maxFailures: z.int().min(1),
  children: z.array(z.unknown()).min(1).max(10_000),
  /** What the kind keeps beside its children (a fleet plan's skipped clients), read back by its own schema. */
  about: z.json().optional(),
})
export type ParentPlan = z.infer<typeof ParentPlan>

const FINAL = new Set(['succeeded', 'failed', 'interrupted'])
const CHILD_FIELDS = { id: true, childIndex: true, status: true, error: true } as const
type ParentSpec = Extract<(typeof OPERATION_KINDS)[keyof typeof OPERATION_KINDS], { parent: true }>

/**
 * Runs parent operations: children start through `begin` (so each is an ordinary operation with its own lock,
 * command and log), at most `concurrency` at a time, none after `maxFailures` failed or after a cancel. Everything
 * it decides from is in the database (the plan, the children's rows by their place in it), so a parent resumed after
 * a restart never starts a child that already has a row, and waits for running ones instead of redoing them.
 */
export function createParentRunner(deps: {
  prisma: PrismaClient
  clock: Clock
  logger: Logger
  operations: OperationService
  context(): KindContext
  settle(operationId: string, settled: Settled): Promise<boolean>
  /** How long a child may wait for its offline agent before it is recorded as failed. */
  offlineGraceMs: number
  /** How often a parent waiting for an agent tries again. */
  retryMs?: number
}) {
  const { prisma, operations } = deps
  const log = deps.logger.child({ component: 'parent-runner' })
  const placed = createChildRetry({ prisma, operations })
  const chains = new Map<string, Promise<void>>()
  const offlineSince = new Map<string, number>()
  const timers = new Set<NodeJS.Timeout>()
  let nudge: NodeJS.Timeout | undefined

  /** One step at a time per parent in this process; the unique (parentId, childIndex) guards across replicas. */
  function advance(parentId: string): Promise<void> {
    const next = (chains.get(parentId) ?? Promise.resolve())
      .then(() => step(parentId))
      .catch((err: unknown) => log.error({ err, parentId }, 'parent step failed'))
    chains.set(parentId, next)
    void next.then(() => {
      if (chains.get(parentId) === next) chains.delete(parentId)
    })
    return next
  }

  function retryLater(parentId: string) {
    const t = setTimeout(() => {
      timers.delete(t)
      void advance(parentId)
    }, deps.retryMs ?? 2_000)
    t.unref()
    timers.add(t)
  }

  async function recordUnstarted(parent: Operation, childKind: string, index: number, message: string) {
    const now = deps.clock.now()
    await prisma.operation
      .create({
        data: {
          kind: childKind,
          status: 'failed',
          parentId: parent.id,
          childIndex: index,
          requestedBy: parent.requestedBy,
          error: { code: 'NOT_STARTED', message },
          startedAt: now,
          finishedAt: now,
        },
      })
      .catch((err: unknown) => {
        if (!isUniqueViolation(err)) throw err
      })
    await operations.log(parent.id, [{ level: 'error', message: `child ${index} could not start: ${message}` }])
  }

  async function step(parentId: string) {
    const parent = await prisma.operation.findUnique({
      where: { id: parentId },
      include: { children: { select: CHILD_FIELDS } },
    })
    if (!parent || FINAL.has(parent.status) || !isOperationKind(parent.kind)) return
    const spec = OPERATION_KINDS[parent.kind]
    if (!spec.parent) return
    const plan = ParentPlan.safeParse(parent.plan)
    if (!plan.success)
      return void deps.settle(parentId, { status: 'failed', error: { code: 'INTERNAL', message: 'invalid plan' } })
    const { children: items, concurrency, maxFailures } = plan.data
    const places = items.map(placementOf)
    const rows = await placed(parent, spec.retryInterrupted === true && parent.cancelledAt === null)
    const status = new Map(rows.map((c) => [c.childIndex, c.status]))
    const blocked = new Set<number>()
    let running = rows.filter((c) => !FINAL.has(c.status)).length
    const failedRows = rows.filter((c) => c.status !== 'succeeded' && FINAL.has(c.status))
    let failed = failedRows.length
    // A child planned with mayFail (a migrate: migrate_all never stops) fails the parent but not the others.
    let counted = failedRows.filter((c) => c.childIndex === null || !places[c.childIndex]?.mayFail).length
    const stopped = () => parent.cancelledAt !== null || counted >= maxFailures
    for (const i of startOrder(places)) {
      if (running >= concurrency || stopped()) break
      if (status.has(i)) continue
      const ready = readiness(i, places, (j) => status.get(j), blocked)
      if (ready === 'blocked') blocked.add(i)
      if (ready !== 'ready') continue
      try {
        await spec.start(deps.context(), parent, items[i], i)
        offlineSince.delete(`${parentId}:${i}`)
        status.set(i, 'running')
        running++
      } catch (err) {
        if (isUniqueViolation(err)) continue // another replica started it meanwhile
        const key = `${parentId}:${i}`
        const since = offlineSince.get(key) ?? Date.now()
        if (err instanceof AgentOffline && Date.now() - since < deps.offlineGraceMs) {
          // Its agent may be reconnecting (after a master restart all are): try again soon, in plan order.
          offlineSince.set(key, since)
          retryLater(parentId)
          return void (await report(parent, spec, false))
        }
        offlineSince.delete(key)
        if (!(err instanceof AgentOffline) && !(err instanceof Conflict)) log.error({ err, parentId, i }, 'child')
        await recordUnstarted(parent, spec.childKind, i, err instanceof Error ? err.message : String(err))
        status.set(i, 'failed')
        failed++
        if (!places[i]!.mayFail) counted++
      }
    }
    // Nothing runs: whatever has not started could not (stopped, or blocked by a child that did not succeed).
    const ended = running === 0
    const result = await report(parent, spec, ended)
    if (ended) await finish(parent, { total: items.length, failed, unstarted: items.length - status.size }, result)
  }

  /** Stores the kind's own account of the parent's progress (its result and steps) and logs what changed. */
  async function report(parent: Operation, spec: ParentSpec, ended: boolean): Promise<Prisma.InputJsonValue | null> {
    if (!spec.progress) return null
    const children = await prisma.operation.findMany({ where: { parentId: parent.id }, select: CHILD_FIELDS })
    const progress = spec.progress(parent, children, ended)
    await prisma.operation.update({
      where: { id: parent.id },
      data: { result: progress.result, ...(progress.steps ? { steps: progress.steps } : {}) },
    })
    if (progress.lines?.length) await operations.log(parent.id, progress.lines)
    return progress.result
  }

  async function finish(
    parent: Operation,
    n: { total: number; failed: number; unstarted: number },
    progress: Prisma.InputJsonValue | null,
  ) {
    const succeeded = n.total - n.failed - n.unstarted
    const result = progress ?? { total: n.total, succeeded, failed: n.failed, notStarted: n.unstarted }
    const notes: string[] = []
    if (n.failed) notes.push(`${n.failed} of ${n.total} children failed`)
    if (parent.cancelledAt) notes.push(`cancelled: ${n.unstarted} not started`)
    else if (n.unstarted) notes.push(`${n.unstarted} not started after a failure`)
    const message = notes.join('; ')
    await operations.log(parent.id, message || `all ${n.total} children succeeded`)
    if (n.failed > 0)
      await deps.settle(parent.id, { status: 'failed', result, error: { code: 'CHILDREN_FAILED', message } })
    else if (parent.cancelledAt)
      await deps.settle(parent.id, { status: 'interrupted', result, error: { code: 'CANCELLED', message } })
    else await deps.settle(parent.id, { status: 'succeeded', result })
  }

  async function advanceRunning() {
    const parents = await prisma.operation.findMany({
      where: { kind: { in: PARENT_KIND_NAMES }, status: { in: ['queued', 'running'] } },
      select: { id: true },
    })
    await Promise.all(parents.map((p) => advance(p.id)))
  }

  return {
    /** Creates a parent with its plan and starts its first children. */
    async start(input: {
      kind: ParentKind
      serverId?: string | null
      requestedBy: string
      plan: ParentPlan
    }): Promise<Operation> {
      const { serverId } = input
      const parent = await prisma.$transaction(async (tx) => {
        if (OPERATION_KINDS[input.kind].exclusive && serverId) {
          // One exclusive operation per server (a fleet parent, a reboot), across requests and replicas.
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${lockKeyOf.server(serverId)}))`
          await assertIdle(tx, { kind: 'server', serverId })
        }
        return tx.operation.create({
          data: {
            kind: input.kind,
            status: 'running',
            serverId: serverId ?? null,
            requestedBy: input.requestedBy,
            plan: { ...input.plan, children: input.plan.children.map((c) => c ?? null) },
            startedAt: deps.clock.now(),
          },
        })
      })
      await advance(parent.id)
      return parent
    },

    /** Starts no new child; running ones finish, then the parent ends interrupted (or failed) with a note. */
    async cancel(id: string, by: string): Promise<void> {
      const { count } = await prisma.operation.updateMany({
        where: { id, kind: { in: PARENT_KIND_NAMES }, status: 'running', cancelledAt: null },
        data: { cancelledAt: deps.clock.now() },
      })
      if (count === 0) {
        const op = await prisma.operation.findUnique({ where: { id }, select: { kind: true, status: true } })
        if (!op) throw new NotFound('operation', id)
        if (!PARENT_KIND_NAMES.includes(op.kind))
          throw new Conflict('only parent operations can be cancelled', 'not_cancellable')
        if (FINAL.has(op.status)) throw new Conflict(`the operation already ended ${op.status}`, 'operation_ended')
        return // already cancelled
      }
      await operations.log(id, `cancel requested by ${by}: no new child starts`)
      await advance(id)
    },

    childEnded: (parentId: string) => void advance(parentId),
    /** After a master start: every running parent waits for its children or starts the next ones. */
    resumeAll: advanceRunning,
    /** An agent came online: parents waiting for it go on (one look per second however many agents connect). */
    agentOnline() {
      if (nudge) return
      nudge = setTimeout(() => {
        nudge = undefined
        advanceRunning().catch((err: unknown) => log.error({ err }, 'resuming parents failed'))
      }, 1_000)
      nudge.unref()
    },

    stop() {
      clearTimeout(nudge)
      for (const t of timers) clearTimeout(t)
    },
  }
}

export type ParentRunner = ReturnType<typeof createParentRunner>
