import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { Conflict } from '../errors.ts'
import type { Operation, Prisma, PrismaClient } from '../generated/prisma/client.ts'
import type { OperationService } from '../operations/operation-service.ts'
import { runFleetPlan, type StartChild } from './fleet-loop.ts'
import type { FleetKind, FleetPlan } from './fleet-plan.ts'
import { initialProgress, parentStatus, type FleetProgress } from './fleet-progress.ts'

export const FLEET_KINDS: readonly FleetKind[] = ['server.switch_all', 'server.migrate_all', 'server.deploy']

/** What a parent operation's result holds: the progress (counts, every client's state) and the plan it follows. */
export type ParentResult = FleetProgress & { plan: FleetPlan }

/**
 * Runs a fleet plan as one parent operation with one child operation per client. The fleet service only speaks to
 * this interface; the operations core (issue 11) provides the durable implementation (stored plan, resume after a
 * master restart without re-running a child, cancel). createInProcessParentRunner below is the minimal one.
 */
export interface ParentRunner {
  /** Creates the parent operation (409 while another fleet operation runs on the server) and starts its plan. */
  start(input: {
    plan: FleetPlan
    requestedBy: string
    startChild: StartChild
  }): Promise<{ operation: Operation; done: Promise<FleetProgress> }>
  /** Starts no new child of the parent; those in flight end on their own. False when it is not running here. */
  cancel(operationId: string): boolean
  /** Stops starting children (shutdown); the parents left running end interrupted at the next start-up. */
  stop(): void
}

/**
 * The minimal runner on the existing operation API: a parent row of type `plan.kind` whose result is the progress,
 * updated as children end, and the loop held in this process. A master restart leaves the row to the start-up
 * reconciliation (interrupted, since it carries no agent command); resuming is the durable runner's job.
 */
export function createInProcessParentRunner(deps: {
  prisma: PrismaClient
  operations: OperationService
  clock: Clock
  logger: Logger
}): ParentRunner {
  const { prisma, operations } = deps
  const log = deps.logger.child({ component: 'fleet-runner' })
  const running = new Map<string, AbortController>()

  async function create(plan: FleetPlan, requestedBy: string): Promise<Operation> {
    const result: ParentResult = { ...initialProgress(plan), plan }
    return prisma.$transaction(async (tx) => {
      // One fleet operation per server at a time, across requests and replicas; released at commit.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`fleet:${plan.serverId}`}))`
      const busy = await tx.operation.findFirst({
        where: { serverId: plan.serverId, type: { in: [...FLEET_KINDS] }, status: { in: ['queued', 'running'] } },
      })
      if (busy)
        throw new Conflict(`a fleet operation (${busy.type}) is running on this server`, 'operation_running', {
          operationId: busy.id,
          type: busy.type,
        })
      return tx.operation.create({
        data: {
          type: plan.kind,
          serverId: plan.serverId,
          requestedBy,
          status: 'running',
          startedAt: deps.clock.now(),
          steps: plan.phases.map((p) => ({ name: p.action, status: 'pending' })) as Prisma.InputJsonValue,
          result: result as unknown as Prisma.InputJsonValue,
        },
      })
    })
  }

  async function drive(op: Operation, plan: FleetPlan, startChild: StartChild, signal: AbortSignal) {
    // Result writes in order: a slow earlier write must not overwrite a later state.
    let writes: Promise<unknown> = Promise.resolve()
    const store = (progress: FleetProgress) => {
      const result: ParentResult = { ...progress, plan }
      writes = writes
        .then(() =>
          prisma.operation.update({
            where: { id: op.id },
            data: { result: result as unknown as Prisma.InputJsonValue },
          }),
        )
        .catch((err: unknown) => log.error({ err, opId: op.id }, 'storing fleet progress failed'))
    }
    const phaseOf = new Map<string, number>()
    const logged: StartChild = async (action, child, opts) => {
      if (!phaseOf.has(action)) {
        phaseOf.set(action, 1)
        await operations.step(op.id, action, 'running')
      }
      const outcome = await startChild(action, child, opts)
      const why = outcome.error ? `: ${outcome.error.code}: ${outcome.error.message}` : ''
      await operations.log(op.id, [
        {
          level: outcome.status === 'succeeded' ? 'info' : 'error',
          step: action,
          message: `${child.slug}: ${action} ${outcome.status}${outcome.operationId ? ` (operation ${outcome.operationId})` : ''}${why}`,
        },
      ])
      return outcome
    }
    const progress = await runFleetPlan(plan, logged, { onChange: store, signal })
    await writes
    for (const phase of progress.phases)
      if (phaseOf.has(phase.action))
        await operations.step(op.id, phase.action, phase.counts.failed + phase.counts.interrupted ? 'failed' : 'done')
    const status = parentStatus(progress)
    const { succeeded, failed, interrupted, not_started: notStarted, skipped } = progress.counts
    const summary = `${succeeded} succeeded, ${failed} failed, ${interrupted} interrupted, ${notStarted} not started, ${skipped} skipped`
    await operations.log(op.id, [{ level: status === 'succeeded' ? 'info' : 'error', message: summary }])
    await operations.finish(op.id, {
      status,
      result: { ...progress, plan },
      ...(status === 'failed' ? { error: { code: 'CHILDREN_FAILED', message: summary } } : {}),
    })
    return progress
  }

  return {
    async start({ plan, requestedBy, startChild }) {
      const operation = await create(plan, requestedBy)
      const controller = new AbortController()
      running.set(operation.id, controller)
      const done = drive(operation, plan, startChild, controller.signal)
        .catch(async (err: unknown) => {
          log.error({ err, opId: operation.id }, 'fleet operation failed unexpectedly')
          const message = err instanceof Error ? err.message : String(err)
          await operations.finish(operation.id, { status: 'failed', error: { code: 'INTERNAL', message } })
          throw err
        })
        .finally(() => running.delete(operation.id))
      // The caller may not wait: a failure is logged and stored above, never an unhandled rejection.
      done.catch(() => undefined)
      return { operation, done }
    },
    cancel(operationId) {
      const controller = running.get(operationId)
      controller?.abort()
      return controller !== undefined
    },
    stop() {
      for (const controller of running.values()) controller.abort()
    },
  }
}
