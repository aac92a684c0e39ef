import {
  parseCommandPayload,
  parseCommandResult,
  type Command,
  type CommandPayload,
  type CommandResult,
  type CommandType,
} from '@alfa/protocol'
import type { z } from 'zod'
import type { Operation, Prisma } from '../generated/prisma/client.ts'
import type { LogLine } from './operation-log-writer.ts'
import { openCommand } from '../agent-hub/command-secrets.ts'
import type { OperationError } from './operation-service.ts'
import type { KindContext } from './kind-context.ts'

/** What an operation's one command came back with, as the tracker stored it. */
export type KindOutcome = { ok: true; data: unknown } | { ok: false; error: OperationError }

/** What an operation targets: its exclusivity and its advisory lock are per client or per server. */
export type KindTarget = 'client' | 'server'

/** A command of type T (the intersection reduces the union to that one variant). */
export type CommandOf<T extends CommandType> = Command & { type: T }

interface CommonSpec {
  target: KindTarget
  /** No two exclusive operations run on one target at once (409 operation_running). */
  exclusive: boolean
}

/** The definition of an operation that is one agent command of type T. */
export interface CommandKindDef<T extends CommandType> extends CommonSpec {
  command: T
  /** The steps shown before the agent reports any (the agent may add more). */
  steps: readonly string[]
  /**
   * A read-only query of the agent (it changes nothing on the server): its row is written once, when it ends or when
   * its caller stops waiting, by the caller that holds it (agent-hub/held-queries.ts), instead of at begin and again
   * at its end. A master that dies before then loses nothing to recover; the caller gets an error. Never for a kind
   * that changes state: those commit before dispatch, so a crash leaves a row to reconcile.
   */
  recordOnEnd?: boolean
  /** Record changes once the server made them, so the record never claims what the server does not do. */
  onSuccess?: (ctx: KindContext, op: Operation, payload: CommandPayload<T>, result: CommandResult<T>) => Promise<void>
  onFailure?: (ctx: KindContext, op: Operation, payload: CommandPayload<T>, error: OperationError) => Promise<void>
}

export interface CommandKindSpec<T extends CommandType> extends CommandKindDef<T> {
  parent: false
  /** Parses the stored command and the outcome with the protocol's schemas and runs the handler that applies. */
  complete(ctx: KindContext, op: Operation, outcome: KindOutcome): Promise<void>
}

/** The definition of a parent operation: a plan of children, each started through `begin`. */
export interface ParentKindDef<Item> extends CommonSpec {
  /** The kind of its children (a child that could not start is recorded as a failed one of this kind). */
  childKind: string
  /**
   * A child that ends `interrupted` (its agent restarted under it, or the master gave up waiting) is started once
   * more; its first attempt is kept apart with its log (childIndex -(index + 1)), so a second interruption stands.
   */
  retryInterrupted?: boolean
  /** The schema of one planned child, so a plan read back after a restart is checked, not cast. */
  item: z.ZodType<Item>
  /** Starts child `index` of the plan (through ctx.begin, with parentId and childIndex). */
  startChild: (ctx: KindContext, parent: Operation, item: Item, index: number) => Promise<void>
  /**
   * The parent's progress from its plan and its children's rows, stored as its result and steps after every step of
   * the runner (`ended` once it ends), with log lines for what changed since the stored result.
   */
  progress?: (parent: Operation, children: ChildRow[], ended: boolean) => ParentProgress
}

/** What a parent's progress reads of each child. */
export type ChildRow = Pick<Operation, 'id' | 'childIndex' | 'status' | 'error'>

export interface ParentProgress {
  result: Prisma.InputJsonValue
  steps?: Prisma.InputJsonValue
  lines?: LogLine[]
}

export interface ParentKindSpec<Item> extends ParentKindDef<Item> {
  parent: true
  /** Checks planned item `index` (as read back from the row) and starts it. */
  start(ctx: KindContext, parent: Operation, item: unknown, index: number): Promise<void>
}

/** Builds a command kind whose handlers see the protocol's own payload and result types. */
export function commandKind<T extends CommandType>(def: CommandKindDef<T>): CommandKindSpec<T> {
  return {
    ...def,
    parent: false,
    async complete(ctx, op, outcome) {
      if (!def.onSuccess && !def.onFailure) return
      const command = openCommand(op.command, ctx.secretBox)
      const parsed = parseCommandPayload(def.command, command?.payload)
      if (command?.type !== def.command || !parsed.ok)
        throw new Error(`the stored command of operation ${op.id} is not a valid ${def.command}`)
      const payload = parsed.payload
      if (!outcome.ok) return def.onFailure?.(ctx, op, payload, outcome.error)
      const result = parseCommandResult(def.command, outcome.data)
      if (!result.ok) throw new Error(`the stored result of operation ${op.id} is not a valid ${def.command} result`)
      return def.onSuccess?.(ctx, op, payload, result.result)
    },
  }
}

/** Builds a parent kind. */
export function parentKind<Item>(def: ParentKindDef<Item>): ParentKindSpec<Item> {
  return {
    ...def,
    parent: true,
    start(ctx, parent, item, index) {
      const parsed = def.item.safeParse(item)
      if (!parsed.success) throw new Error(`item ${index} of the plan of operation ${parent.id} is invalid`)
      return def.startChild(ctx, parent, parsed.data, index)
    },
  }
}

/** The advisory lock of a client (by slug: a create, a re-create, a delete and actions share it) or a server. */
export const lockKeyOf = {
  client: (slug: string) => `client:${slug}`,
  server: (serverId: string) => `server:${serverId}`,
}
