import type { Operation } from '../generated/prisma/client.ts'
import type { OperationError } from '../operations/operation-service.ts'
import { patientAsk } from './agent-patience.ts'
import { COPY_STEPS } from './copy-run.ts'
import type { MoveFacts } from './move-facts.ts'
import type { RecoveryDeps } from './move-recovery.ts'
import { stepsOf } from './stored-steps.ts'
import type { StepTools } from './move-steps.ts'

type Ending = { status: 'succeeded'; result: unknown } | { status: 'interrupted' | 'failed'; error: OperationError }

/**
 * A copy_to the master was running when it stopped: a copy whose every step was done becomes active; any other is
 * removed from the stage server (its staged client and spools) and its record marked failed, as a copy that failed
 * in-process is. The origin is never touched: a copy only ever read it.
 */
export async function recoverCopy(
  deps: RecoveryDeps,
  tools: StepTools,
  op: Operation,
  facts: MoveFacts,
): Promise<Ending> {
  const steps = stepsOf(op)
  const at = steps.at
  const [copy, target] = await Promise.all([
    deps.prisma.client.findUnique({ where: { id: op.clientId ?? '' } }),
    deps.prisma.server.findUnique({ where: { id: facts.targetServerId } }),
  ])
  const stop = (message: string): Ending => ({
    status: 'interrupted',
    error: {
      code: 'INTERRUPTED',
      message: `${at}: the master restarted during this step; ${message}`,
      data: { step: at },
    },
  })
  if (!copy || !target) return stop('NOT rolled back: the copy or its server is gone')
  if (COPY_STEPS.every((s) => steps.status(s) === 'done')) {
    await deps.prisma.client.update({
      where: { id: copy.id },
      data: { status: 'active', available: true, availableCheckedAt: deps.clock.now() },
    })
    await tools.log(`every step was done: ${copy.slug} is active on ${target.name}`)
    return { status: 'succeeded', result: { copyId: copy.id, copiedFrom: copy.copiedFromId, slug: copy.slug } }
  }
  if (steps.status(at) === 'running') await deps.operations.step(op.id, at, 'failed')
  const ask = patientAsk(tools, deps.hub, deps.agentWaitMs)
  const lines: string[] = []
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    const line = await work().then(
      () => `rolled back: ${what}`,
      (error: unknown) => `NOT rolled back: ${what}: ${(error as Error).message}`,
    )
    lines.push(line)
    await tools.log(line, line.startsWith('NOT') ? 'error' : 'info')
  }
  if (steps.started('stage'))
    await attempt(`${copy.slug} removed from ${target.name}`, () =>
      ask('rollback', target.id, 'client.delete', { clientId: copy.id, slug: copy.slug, dbEngine: target.dbEngine }),
    )
  if (facts.transfers.length)
    await attempt(`${facts.transfers.length} transfer spool(s) discarded on ${target.name}`, async () => {
      for (const transferId of facts.transfers) await ask('rollback', target.id, 'transfer.discard', { transferId })
    })
  await deps.prisma.client.update({ where: { id: copy.id }, data: { status: 'failed' } })
  return stop(lines.length ? lines.join('; ') : 'nothing to undo')
}
