import type { Command } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { Conflict, DomainError } from '../errors.ts'
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { ChildOutcome } from './fleet-loop.ts'

/**
 * Starts one single-client operation for a fleet parent, the way clients/client-actions.ts run() does (row created
 * under the client's advisory lock, 409 when the client is busy, command dispatched through the hub), and waits for
 * its end. A separate function so the operations core (issue 11) can take it over with its one `begin`.
 */
export async function runClientOperation(
  deps: { prisma: PrismaClient; hub: AgentHub; operations: OperationService },
  input: {
    clientId: string
    serverId: string
    type: string
    command: Command
    deadlineMs: number
    steps: readonly string[]
    requestedBy: string
  },
  started: (operationId: string) => void,
): Promise<ChildOutcome> {
  try {
    return await run(deps, input, started)
  } catch (error) {
    // Busy client, offline agent: the child fails with the reason and the parent carries on with its plan.
    if (error instanceof DomainError) return { status: 'failed', error: { code: error.code, message: error.message } }
    throw error
  }
}

async function run(
  deps: { prisma: PrismaClient; hub: AgentHub; operations: OperationService },
  input: Parameters<typeof runClientOperation>[1],
  started: (operationId: string) => void,
): Promise<ChildOutcome> {
  const { prisma, hub } = deps
  hub.assertOnline(input.serverId, input.command.type)
  const op = await prisma.$transaction(async (tx) => {
    // Serialises with the per-client actions across requests and replicas; released at commit.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${input.clientId}))`
    const running = await tx.operation.findFirst({
      where: { clientId: input.clientId, status: { in: ['queued', 'running'] } },
    })
    if (running)
      throw new Conflict(`client has a running operation (${running.type})`, 'operation_running', {
        operationId: running.id,
      })
    return tx.operation.create({
      data: {
        type: input.type,
        serverId: input.serverId,
        clientId: input.clientId,
        requestedBy: input.requestedBy,
        steps: input.steps.map((name) => ({ name, status: 'pending' })) as Prisma.InputJsonValue,
      },
    })
  })
  started(op.id)
  let outcome
  try {
    outcome = await hub.dispatch(op.id, input.serverId, input.command, input.deadlineMs)
  } catch (error) {
    // The agent went away between the check and the send: end the row rather than leave it queued.
    const message = error instanceof Error ? error.message : String(error)
    await deps.operations.finish(op.id, { status: 'failed', error: { code: 'agent_offline', message } })
    return { status: 'failed', operationId: op.id, error: { code: 'agent_offline', message } }
  }
  if (outcome.ok) return { status: 'succeeded', operationId: op.id }
  const { code, message } = outcome.error
  return { status: code === 'INTERRUPTED' ? 'interrupted' : 'failed', operationId: op.id, error: { code, message } }
}

/** Waits for a child operation a previous run of the parent started (never starts it again). */
export async function awaitClientOperation(
  deps: { prisma: PrismaClient; hub: AgentHub },
  operationId: string,
  pollMs = 5_000,
): Promise<ChildOutcome> {
  for (;;) {
    const op = await deps.prisma.operation.findUnique({ where: { id: operationId } })
    if (!op) return { status: 'failed', operationId, error: { code: 'NOT_FOUND', message: 'child operation vanished' } }
    if (op.status === 'succeeded') return { status: 'succeeded', operationId }
    if (op.status === 'failed' || op.status === 'interrupted') {
      const error = op.error as { code?: string; message?: string } | null
      return {
        status: op.status,
        operationId,
        error: { code: error?.code ?? 'FAILED', message: error?.message ?? op.status },
      }
    }
    await deps.hub.waitFor(operationId, pollMs)
  }
}
