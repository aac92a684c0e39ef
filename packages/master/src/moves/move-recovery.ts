import type { Logger } from 'pino'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { Operation } from '../generated/prisma/client.ts'
import { MASTER_RUN_KINDS } from '../operations/operation-kinds.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { TransferRelay } from '../transfers/transfer-relay.ts'
import { recoverCopy } from './copy-recovery.ts'
import { MoveFacts, recordTransfer } from './move-facts.ts'
import { finishMove } from './move-finish.ts'
import type { MoveDeps } from './move-run.ts'
import { createStepTools, type StepTools } from './move-steps.ts'
import { undoMove } from './move-undo.ts'
import { stepsOf } from './stored-steps.ts'

export type RecoveryDeps = MoveDeps & {
  hub: AgentHub
  transfers: TransferRelay
  operations: OperationService
  logger: Logger
}

/**
 * What a master restart does with the moves and copies it was running (they ran in the process that died): each is
 * finished when it was past its point of no return (the record names the target: cleanup and forward run again),
 * and undone otherwise (the staged client and spools leave the target, the source is unfrozen), waiting for the
 * agents to reconnect. Either way the operation ends, naming the step it was at and what was done about it.
 */
export function createMoveRecovery(deps: RecoveryDeps) {
  const { prisma, operations } = deps
  const log = deps.logger.child({ component: 'move-recovery' })

  /** Ends the operation as interrupted at `at`, with what the undo did. */
  const interrupted = (op: Operation, at: string, lines: string[]) =>
    operations.finish(op.id, {
      status: 'interrupted',
      error: {
        code: 'INTERRUPTED',
        message: `${at}: the master restarted during this step; ${lines.length ? lines.join('; ') : 'nothing to undo'}`,
        data: { step: at },
      },
    })

  async function recoverMove(op: Operation, tools: StepTools, facts: MoveFacts, at: string) {
    const steps = stepsOf(op)
    const [c, source, target] = await Promise.all([
      prisma.client.findUnique({ where: { id: op.clientId ?? '' } }),
      prisma.server.findUnique({ where: { id: op.serverId ?? '' } }),
      prisma.server.findUnique({ where: { id: facts.targetServerId } }),
    ])
    if (!c || !source || !target) return interrupted(op, at, ['NOT rolled back: its client or servers are gone'])
    if (steps.status('record') === 'done' || c.serverId === target.id) {
      if (steps.status('record') !== 'done') await operations.step(op.id, 'record', 'done')
      await tools.log(`the record already names ${target.name}: finishing the move (cleanup, forward)`)
      const skip = new Set(['cleanup', 'forward'].filter((s) => steps.status(s) === 'done'))
      const result = await finishMove(deps, tools, c, source, target, { downtimeMs: steps.downtimeMs() }, skip)
      return operations.finish(op.id, { status: 'succeeded', result })
    }
    if (steps.status(at) === 'running') await operations.step(op.id, at, 'failed')
    await tools.log(`the move stopped before its point of no return: undoing it, ${c.slug} stays on ${source.name}`)
    const lines = await undoMove(deps, tools, op.id, c, source, target, {
      staged: steps.started('stage'),
      frozen: steps.started('freeze'),
    })
    return interrupted(op, at, lines)
  }

  async function recoverOne(op: Operation) {
    const tools = createStepTools({
      ...deps,
      operationId: op.id,
      onTransferOpened: (id) => recordTransfer(prisma, op.id, id),
    })
    const at = stepsOf(op).at
    await tools.log(`the master restarted while this ${op.kind} was at ${at}`, 'warn')
    const facts = MoveFacts.safeParse(op.recovery)
    if (!facts.success) return interrupted(op, at, ['NOT rolled back: the row does not name its target server'])
    if (op.kind === 'client.copy') {
      const ended = await recoverCopy(deps, tools, op, facts.data)
      return operations.finish(op.id, ended)
    }
    return recoverMove(op, tools, facts.data, at)
  }

  return {
    /** At master start: finishes or undoes, in the background, every move and copy the last run left running. */
    async recoverAtStart(): Promise<void> {
      const left = await prisma.operation.findMany({
        where: { kind: { in: [...MASTER_RUN_KINDS] }, status: { in: ['queued', 'running'] } },
      })
      if (left.length) log.info({ count: left.length }, 'recovering moves and copies left by the last run')
      for (const op of left)
        void recoverOne(op).catch(async (err: unknown) => {
          log.error({ err, operationId: op.id }, 'recovering a move failed')
          await interrupted(op, stepsOf(op).at, [`NOT rolled back: ${String(err)}`]).catch((e: unknown) =>
            log.error({ err: e, operationId: op.id }, 'ending a move failed'),
          )
        })
    },
  }
}
