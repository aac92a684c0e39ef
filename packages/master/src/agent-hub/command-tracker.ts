import { isCommandType, type CommandType, type WireError } from '@alfa/protocol'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Operation, PrismaClient } from '../generated/prisma/client.ts'
import { createCoalescingWriter } from '../db/coalescing-writer.ts'
import type { Sql } from '../db/sql.ts'
import type { LogLine } from '../operations/operation-log-writer.ts'
import type { OperationError, OperationService, OperationStep } from '../operations/operation-service.ts'
import { createHeldQueries } from './held-queries.ts'

export type CommandOutcome = { ok: true; data: unknown } | { ok: false; error: WireError }

/** The operation, server and command type a command id belongs to. */
export interface CommandRef {
  operationId: string
  serverId: string
  /** The command type, so a result is checked without reading the operation back. */
  type?: CommandType
}

/** How long acks wait to be written together. */
const ACK_BATCH_MS = 250

export type Settled = { status: 'succeeded' | 'failed' | 'interrupted'; result?: unknown; error?: OperationError }

/** What runs once an operation ended: the kind's handler, and its parent's next step. */
export interface OperationCompletions {
  run(op: Operation, settled: Settled): Promise<void>
}

const storedType = z.object({ type: z.string() })

/**
 * Which operation each command id belongs to, and who waits for it. The database is the truth (a command id is on
 * its operation row); the maps only save lookups and let a request wait for an outcome in-process.
 */
export function createCommandTracker(deps: {
  prisma: PrismaClient
  sql: Sql
  operations: OperationService
  completions: OperationCompletions
  logger: Logger
  /** Command ids remembered at most (the database stays the truth: lookup reads a forgotten one back). */
  maxRefs?: number
}) {
  const { prisma, operations } = deps
  const refs = new Map<string, CommandRef>()
  // Which command an operation waits on, so an operation settled without a result (deadline, lost agent) drops its
  // entry too; and a hard cap on the map.
  const commandOf = new Map<string, string>()
  const maxRefs = deps.maxRefs ?? 50_000
  function keep(commandId: string, ref: CommandRef) {
    if (refs.size >= maxRefs) {
      const oldest = refs.keys().next().value
      if (oldest !== undefined) forgetCommand(oldest)
    }
    refs.set(commandId, ref)
    commandOf.set(ref.operationId, commandId)
  }
  function forgetCommand(commandId: string) {
    const ref = refs.get(commandId)
    refs.delete(commandId)
    if (ref && commandOf.get(ref.operationId) === commandId) commandOf.delete(ref.operationId)
  }
  // An ack only tells when the agent took the command; losing one changes no outcome, so a failed batch is not retried.
  const acks = createCoalescingWriter<Date>({
    flushMs: ACK_BATCH_MS,
    logger: deps.logger,
    what: 'command acks',
    retry: false,
    write: async (batch) => {
      await deps.sql.query(
        `UPDATE "Operation" o SET "ackedAt" = a.at FROM unnest($1::uuid[], $2::timestamp(3)[]) AS a(id, at)
          WHERE o.id = a.id AND o."ackedAt" IS NULL`,
        [[...batch.keys()], [...batch.values()].map((at) => at.toISOString())],
      )
    },
  })
  const waiters = new Map<string, Set<(o: Settled) => void>>()
  /** Read-only queries whose row is written once, by their owner, when they end (held-queries.ts). */
  const held = createHeldQueries(() => new Date())

  /** Log lines of an operation: kept with a held query, else queued once its row exists. */
  async function log(operationId: string, lines: LogLine[]) {
    if (held.log(operationId, lines)) return
    await held.recorded(operationId)
    return operations.log(operationId, lines)
  }

  function notify(operationId: string, settled: Settled) {
    const set = waiters.get(operationId)
    waiters.delete(operationId)
    if (set) for (const fn of set) fn(settled)
  }

  /**
   * Ends the operation and runs what follows. `fromAgent` marks the agent's own outcome, which may replace an ending
   * the master decided itself (deadline, lost agent): a late result still counts.
   */
  async function settle(operationId: string, settled: Settled, fromAgent = false): Promise<boolean> {
    const commandId = commandOf.get(operationId)
    if (commandId !== undefined) forgetCommand(commandId)
    // A held query's owner writes its row, outcome included, in one statement; it waits for nothing else.
    if (held.end(operationId, settled)) {
      operations.logs.forget(operationId)
      return true
    }
    await held.recorded(operationId) // its owner stopped waiting and is writing the row as it stood
    const ended = await operations.finish(operationId, settled, { replaceMasterEnding: fromAgent })
    if (ended) {
      if (ended.previousStatus !== 'running' && ended.previousStatus !== 'queued') {
        deps.logger.warn({ operationId, was: ended.previousStatus, now: settled.status }, 'late result replaces')
        await operations.log(operationId, [
          {
            level: 'warn',
            message: `the agent's result came late: it replaces the master's "${ended.previousStatus}" ending`,
          },
        ])
      }
      try {
        await deps.completions.run(ended.operation, settled)
      } catch (err) {
        // The operation's own outcome stands; the follow-up failure is logged on it so nobody misses it.
        deps.logger.error({ err, operationId, kind: ended.operation.kind }, 'completion handler failed')
        await operations.log(operationId, [
          {
            level: 'error',
            message: `follow-up after the result failed: ${err instanceof Error ? err.message : String(err)}`,
          },
        ])
        await operations.logs.flush()
      }
    }
    notify(operationId, settled)
    return ended !== undefined
  }

  /** Ends, as the master's own decision, an operation whose agent never answered (a later result replaces it). */
  async function giveUp(operationId: string, status: 'failed' | 'interrupted', code: string, message: string) {
    await log(operationId, [{ level: 'error', message }])
    return settle(operationId, { status, error: { code, message, origin: 'master' } })
  }

  return {
    /** Starts tracking a delivered command (and one re-sent after a reconnect). */
    remember(commandId: string, operationId: string, serverId: string, type: CommandType) {
      keep(commandId, { operationId, serverId, type })
    },

    /** Holds a read-only query's operation in memory until it ends (its row not written yet). */
    hold: held.hold,

    /** Held queries of a server or past their deadline (reconciliation ends them like stored ones). */
    heldIds: held.ids,

    /** Log lines for an operation (kept with a held query until its row is written). */
    log,

    /** A step's progress (kept with a held query until its row is written). */
    async step(operationId: string, name: string, status: OperationStep['status']) {
      if (held.step(operationId, name, status)) return
      await held.recorded(operationId)
      return operations.step(operationId, name, status)
    },

    /** Command ids currently remembered (for the bound's test). */
    size: () => refs.size,

    async lookup(commandId: string): Promise<CommandRef | undefined> {
      const cached = refs.get(commandId)
      if (cached) return cached
      const op = await prisma.operation.findUnique({
        where: { commandId },
        select: { id: true, serverId: true, command: true },
      })
      if (!op?.serverId) return undefined
      const stored = storedType.safeParse(op.command)
      const type = stored.success && isCommandType(stored.data.type) ? stored.data.type : undefined
      const ref = { operationId: op.id, serverId: op.serverId, ...(type ? { type } : {}) }
      keep(commandId, ref)
      return ref
    },

    /**
     * Records that the agent has the command. Acks are written in batches (one statement per ACK_BATCH_MS): nothing
     * waits on them, and one write per command was a quarter of a command's database work.
     */
    acked(operationId: string) {
      if (held.acked(operationId)) return
      acks.update(operationId, (queued) => queued ?? new Date())
    },

    /** Writes the acks still queued. */
    flushAcks: acks.flush,

    /** Writes the acks still queued and takes no more (at shutdown). */
    stop: acks.stop,

    /** Stores an agent's result as the operation's final state (also when it comes after the master gave up). */
    async complete(operationId: string, commandId: string, outcome: CommandOutcome) {
      forgetCommand(commandId)
      if (outcome.ok) return void (await settle(operationId, { status: 'succeeded', result: outcome.data }, true))
      const status = outcome.error.code === 'INTERRUPTED' ? 'interrupted' : 'failed'
      await log(operationId, [
        { level: 'error', stream: 'info', message: `${outcome.error.code}: ${outcome.error.message}` },
      ])
      await settle(
        operationId,
        {
          status,
          error: {
            code: outcome.error.code,
            message: outcome.error.message,
            ...(outcome.error.data !== undefined ? { data: outcome.error.data } : {}),
          },
        },
        true,
      )
    },

    settle,

    giveUp,

    /** Fails operations whose command outlived its deadline (plus slack) without a result. */
    async sweepDeadlines(now: Date) {
      try {
        const late = await prisma.operation.findMany({
          where: { status: 'running', deadlineAt: { lt: now } },
          select: { id: true },
        })
        for (const id of held.ids({ deadlineBefore: now })) late.push({ id })
        for (const op of late)
          await giveUp(op.id, 'failed', 'DEADLINE_EXCEEDED', 'no result from the agent before the deadline')
      } catch (err) {
        deps.logger.error({ err }, 'deadline sweep failed')
      }
    },

    /**
     * Waits up to `ms` for the operation to settle in this process (after its completion handler ran); undefined on
     * timeout or once `signal` aborts (the waiter is dropped then, not left until its timer).
     */
    waitFor(operationId: string, ms: number, signal?: AbortSignal): Promise<Settled | undefined> {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve(undefined)
        let set = waiters.get(operationId)
        if (!set) waiters.set(operationId, (set = new Set()))
        const done = (s: Settled | undefined) => {
          clearTimeout(t)
          signal?.removeEventListener('abort', drop)
          resolve(s)
        }
        const drop = () => {
          set.delete(done)
          if (set.size === 0 && waiters.get(operationId) === set) waiters.delete(operationId)
          done(undefined)
        }
        const t = setTimeout(drop, ms)
        signal?.addEventListener('abort', drop, { once: true })
        set.add(done)
      })
    },
  }
}

export type CommandTracker = ReturnType<typeof createCommandTracker>
