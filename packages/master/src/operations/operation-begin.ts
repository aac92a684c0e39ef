import { COMMAND_DEADLINES_MS, type Command, type CommandType } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { Conflict } from '../errors.ts'
import type { Operation, Prisma, PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import type { CommandOf } from './kind-spec.ts'
import { insertGuardedClientOperation, insertOperation, unrecordedOperation } from './operation-insert.ts'
import type { HeldQuery } from '../agent-hub/held-queries.ts'
import type { OperationStep } from './operation-service.ts'
export { lockKeyOf } from './kind-spec.ts'
import { EXCLUSIVE_KINDS, OPERATION_KINDS, type CommandKind, type CommandTypeOf } from './operation-kinds.ts'

type Tx = Prisma.TransactionClient

/** What `begin` needs of the hub: the online check, and a delivery that never throws. */
export interface CommandCourier {
  /** Throws AgentOffline (or Conflict when the agent cannot run the type) before anything is written. */
  assertOnline(serverId: string, type: CommandType): void
  /** The stored form of a command, its id and when the master gives up on it (deadline plus slack). */
  prepare(
    command: Command,
    deadlineMs: number,
    now: Date,
  ): { commandId: string; stored: Prisma.InputJsonValue; deadlineAt: Date }
  /** Keeps a read-only query's operation in memory until it ends (kinds with recordOnEnd); before deliver. */
  hold(op: Operation, steps: OperationStep[]): HeldQuery
  /** Hands a stored command to its agent; an offline agent gets it on reconnect. Never throws. */
  deliver(op: { id: string; serverId: string; commandId: string }, command: Command, deadlineMs: number): void
}

export interface BeginRequest<K extends CommandKind, C> {
  kind: K
  serverId: string
  /** The client the operation acts on, when known before the transaction. */
  clientId?: string
  /** What the advisory lock is taken on (lockKeyOf): the client's slug, or the server. */
  lock: string
  requestedBy: string
  /** A child operation: its parent and its place in the parent's plan. */
  parent?: { id: string; index: number }
  /** Row changes made in the same transaction, under the lock; may name the client (a create makes it). */
  change?: (tx: Tx) => Promise<C>
  /** The command, possibly built from what `change` returned (the new client's id). */
  command: CommandOf<CommandTypeOf<K>> | ((changed: C) => CommandOf<CommandTypeOf<K>>)
  /** The client id the operation acts on, from what `change` returned. */
  clientOf?: (changed: C) => string
  /**
   * Under the lock the client must still be active (a delete may have won): 409 client_not_active otherwise. Checked
   * with the idle check in the insert's own statement (no `change`), the start of every action on a client.
   */
  requireActiveClient?: true
}

/** 409 naming the exclusive operation that runs on the client or server, whichever check found it. */
const runningConflict = (target: 'client' | 'server', running: { id: string; kind: string }) =>
  new Conflict(`${target} has a running operation (${running.kind})`, 'operation_running', {
    operationId: running.id,
    kind: running.kind,
  })

/**
 * 409 naming the exclusive operation that runs on the target, if any: inside a transaction that holds the target's
 * advisory lock (begin, a move's record, a parent's start), so that no other start can slip in after the check.
 */
export async function assertIdle(tx: Tx, target: { kind: 'client' | 'server'; clientId?: string; serverId: string }) {
  const running = await tx.operation.findFirst({
    where: {
      ...(target.kind === 'client' ? { clientId: target.clientId ?? null } : { serverId: target.serverId }),
      kind: { in: EXCLUSIVE_KINDS[target.kind] },
      status: { in: ['queued', 'running'] },
    },
    select: { id: true, kind: true },
  })
  if (running) throw runningConflict(target.kind, running)
}

/**
 * Starts every operation that sends a command, the same way: the agent's presence is checked before the
 * transaction (503 when offline); then, in one transaction under the target's advisory lock, no other exclusive
 * operation may run on the target (409 operation_running naming it), the caller's row changes are made and the
 * operation is inserted with its sealed command, deadline and steps. After the commit the command is only handed to
 * the hub, which never throws: if the agent dropped meanwhile, the command waits in the row for its reconnect.
 */
export function createBegin(deps: {
  prisma: PrismaClient
  /** The lock-free path's one INSERT goes straight through the driver (the hot path of fleets of agents). */
  sql: Sql
  courier: CommandCourier
  clock: Clock
  logger: Logger
}) {
  const { prisma, courier } = deps
  const log = deps.logger.child({ component: 'operations' })

  /** The command the request sends (built from what `change` returned), checked against its kind's command type. */
  function commandOf<K extends CommandKind, C>(req: BeginRequest<K, C>, changed: C): Command {
    const type = OPERATION_KINDS[req.kind].command
    const command = typeof req.command === 'function' ? req.command(changed) : req.command
    if (command.type !== type) throw new Error(`${req.kind} sends ${type}, not ${command.type}`)
    return command
  }

  /** The new row, the same for every path: its sealed command, deadline and pending steps. */
  function rowOf<K extends CommandKind, C>(req: BeginRequest<K, C>, command: Command, clientId: string | null) {
    const now = deps.clock.now()
    const prepared = courier.prepare(command, COMMAND_DEADLINES_MS[command.type], now)
    const steps = OPERATION_KINDS[req.kind].steps.map((name) => ({ name, status: 'pending' as const }))
    const data = {
      kind: req.kind,
      status: 'running' as const,
      serverId: req.serverId,
      clientId,
      requestedBy: req.requestedBy,
      steps,
      commandId: prepared.commandId,
      command: prepared.stored,
      startedAt: now,
      deadlineAt: prepared.deadlineAt,
      ...(req.parent ? { parentId: req.parent.id, childIndex: req.parent.index } : {}),
    }
    return { now, data }
  }

  /**
   * A read-only query (recordOnEnd): no lock, no row yet. The operation is held in memory and its command sent; the
   * caller writes the row once, with its outcome (held-queries.ts), so the query costs one transaction, not three.
   */
  function beginQuery<K extends CommandKind, C>(req: BeginRequest<K, C>, deadlineMs: number) {
    const spec = OPERATION_KINDS[req.kind]
    if (spec.exclusive || req.change || req.parent)
      throw new Error(`${req.kind} is held until it ends: no lock or change`)
    const command = commandOf(req, undefined as C)
    const { data } = rowOf(req, command, req.clientId ?? null)
    const operation = unrecordedOperation(data)
    const held = courier.hold(operation, data.steps)
    courier.deliver({ id: operation.id, serverId: req.serverId, commandId: data.commandId }, command, deadlineMs)
    return { operation, changed: undefined as C, held }
  }

  /**
   * An action on a known client: its whole start is four round trips on one connection (BEGIN, the client's advisory
   * lock, one statement that checks idle and active and inserts, COMMIT) instead of the ORM's interactive
   * transaction with a statement per check. Same guarantees: one exclusive operation per client under the lock, the
   * running one named in the 409, nothing written on a refusal, nothing thrown after the commit.
   */
  async function beginGuarded<K extends CommandKind, C>(req: BeginRequest<K, C>, deadlineMs: number) {
    const spec = OPERATION_KINDS[req.kind]
    const clientId = req.clientId
    if (spec.target !== 'client' || !spec.exclusive || clientId === undefined || req.change || req.parent)
      throw new Error(`${req.kind}: requireActiveClient is for an exclusive action on a known client`)
    const command = commandOf(req, undefined as C)
    const { now, data } = rowOf(req, command, clientId)
    const found = await deps.sql.transaction(async (tx) => {
      // Serialises every start on the client, across requests and replicas; released at commit. The next statement's
      // snapshot is taken after it, so it sees any operation a start before this one committed.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [req.lock], 'begin-lock')
      return insertGuardedClientOperation(tx, { ...data, clientId }, now, {
        exclusiveKinds: EXCLUSIVE_KINDS.client,
        clientStatuses: ['active'],
      })
    })
    if ('running' in found) throw runningConflict('client', found.running)
    if ('clientStatus' in found)
      throw new Conflict(
        `client is ${found.clientStatus ?? 'gone'}; actions need an active client`,
        'client_not_active',
      )
    handOver({ id: found.operation.id, serverId: req.serverId, commandId: data.commandId }, command, deadlineMs)
    return { operation: found.operation, changed: undefined as C }
  }

  /** After the commit: the hub takes the command (an offline agent gets it on reconnect); nothing is thrown. */
  function handOver(op: { id: string; serverId: string; commandId: string }, command: Command, deadlineMs: number) {
    try {
      courier.deliver(op, command, deadlineMs)
    } catch (err) {
      // Never reached in practice (deliver does not throw): the operation is stored and ends by the sweep.
      log.error({ err, operationId: op.id }, 'handing the command to the hub failed')
    }
  }

  return async function begin<K extends CommandKind, C = undefined>(
    req: BeginRequest<K, C>,
  ): Promise<{ operation: Operation; changed: C; held?: HeldQuery }> {
    const spec = OPERATION_KINDS[req.kind]
    const deadlineMs = COMMAND_DEADLINES_MS[spec.command]
    courier.assertOnline(req.serverId, spec.command)
    if (spec.recordOnEnd) return beginQuery(req, deadlineMs)
    if (req.requireActiveClient) return beginGuarded(req, deadlineMs)
    // Nothing to serialise for a non-exclusive kind without row changes (image lists, test sleeps): one INSERT, the
    // hot path of fleets of agents, instead of a transaction holding a lock.
    const lockFree = !spec.exclusive && !req.change
    const write = <R>(fn: (tx: Tx) => Promise<R>) => (lockFree ? fn(prisma) : prisma.$transaction(fn))
    const { operation, changed, commandId, command } = await write(async (tx) => {
      // Serialises every start on one target, across requests and replicas; released at commit.
      if (!lockFree) await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${req.lock}))`
      // The running operation is named first, even when the caller's own checks would refuse too (a delete that
      // won the race leaves the client "deleting"); a create only knows its client after its change.
      const target = { kind: spec.target, serverId: req.serverId }
      const known = spec.target === 'server' || req.clientId !== undefined
      if (spec.exclusive && known) await assertIdle(tx, { ...target, clientId: req.clientId })
      const changed = req.change ? await req.change(tx) : (undefined as C)
      const clientId = req.clientOf ? req.clientOf(changed) : req.clientId
      if (spec.exclusive && !known) await assertIdle(tx, { ...target, clientId })
      const command = commandOf(req, changed)
      const { now, data } = rowOf(req, command, clientId ?? null)
      const operation = lockFree ? await insertOperation(deps.sql, data, now) : await tx.operation.create({ data })
      return { operation, changed, commandId: data.commandId, command }
    })
    handOver({ id: operation.id, serverId: req.serverId, commandId }, command, deadlineMs)
    return { operation, changed }
  }
}

export type Begin = ReturnType<typeof createBegin>
