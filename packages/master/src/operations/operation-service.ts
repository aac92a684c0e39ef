import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { NotFound } from '../errors.ts'
import { randomUUID } from 'node:crypto'
import type { Operation, Prisma, PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import type { OperationLogWriter, LogLine } from './operation-log-writer.ts'

export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted'
export const FINAL_STATUSES: readonly OperationStatus[] = ['succeeded', 'failed', 'interrupted']

export interface OperationStep {
  name: string
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped'
  startedAt?: string
  endedAt?: string
}

export interface OperationError {
  code: string
  message: string
  step?: string
  data?: unknown
}

/** Every column, the enum as text, so a raw statement's row has the ORM's shape. */
const OPERATION_COLUMNS = `id, type, status::text AS status, "serverId", "clientId", "requestedBy", steps, "commandId", command, "ackedAt", "deadlineAt", result, error, "logSeq", "createdAt", "startedAt", "finishedAt", "updatedAt"`

/** A JSON value as a bind parameter (cast to jsonb in the statement); undefined stays SQL NULL. */
const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value))

/**
 * Durable operations: every action on a server or client is a row with steps, a log and a final state. Nothing an
 * operation needs to finish or to be read later is kept only in memory.
 */
export function createOperationService(deps: {
  prisma: PrismaClient
  sql: Sql
  clock: Clock
  logger: Logger
  logs: OperationLogWriter
}) {
  const { prisma, sql, clock, logs } = deps

  async function steps(id: string): Promise<OperationStep[]> {
    const op = await prisma.operation.findUnique({ where: { id }, select: { steps: true } })
    if (!op) throw new NotFound('operation', id)
    return op.steps as unknown as OperationStep[]
  }

  return {
    logs,

    async create(input: {
      type: string
      serverId?: string | null
      clientId?: string | null
      requestedBy?: string
      steps?: string[]
    }) {
      return prisma.operation.create({
        data: {
          type: input.type,
          serverId: input.serverId ?? null,
          clientId: input.clientId ?? null,
          requestedBy: input.requestedBy ?? null,
          steps: (input.steps ?? []).map((name) => ({ name, status: 'pending' })) as unknown as Prisma.InputJsonValue,
        },
      })
    },

    async start(id: string) {
      await prisma.operation.updateMany({
        where: { id, status: 'queued' },
        data: { status: 'running', startedAt: clock.now() },
      })
    },

    /** Appends log lines (batched). */
    log(id: string, lines: LogLine[] | string) {
      return logs.append(id, typeof lines === 'string' ? [{ message: lines }] : lines)
    },

    /** Marks a step running/done/failed, adding it when the plan did not list it. */
    async step(id: string, name: string, status: OperationStep['status']) {
      const list = await steps(id)
      const now = clock.now().toISOString()
      let step = list.find((s) => s.name === name)
      if (!step) list.push((step = { name, status: 'pending' }))
      step.status = status
      if (status === 'running') step.startedAt ??= now
      if (status === 'done' || status === 'failed' || status === 'skipped') step.endedAt = now
      await prisma.operation.update({ where: { id }, data: { steps: list as unknown as Prisma.InputJsonValue } })
    },

    /**
     * Moves the operation to a final state once, after its queued log lines are stored; returns the final row, or
     * undefined when it had already ended (a later call changes nothing).
     */
    async finish(
      id: string,
      outcome: { status: 'succeeded' | 'failed' | 'interrupted'; result?: unknown; error?: OperationError },
    ) {
      logs.forget(id) // before the flush: it may queue the "lines dropped" line
      await logs.flush()
      // One statement: the status condition makes it happen once, and the row comes back for the follow-up. Straight
      // through the driver because every command's round trip waits on it (see db/sql.ts).
      const now = clock.now()
      const rows = await sql.query<Operation>(
        `UPDATE "Operation" SET status = $1::"OperationStatus", "finishedAt" = $2, "updatedAt" = $2,
                result = COALESCE($3::jsonb, result), error = COALESCE($4::jsonb, error)
          WHERE id = $5::uuid AND status IN ('queued', 'running')
         RETURNING ${OPERATION_COLUMNS}`,
        [outcome.status, now, json(outcome.result), json(outcome.error), id],
        'operation-finish',
      )
      return rows[0]
    },

    /**
     * Inserts an operation that is already running its one agent command (server actions): one statement on the
     * command's round trip instead of the ORM's create.
     */
    async insertDispatched(input: {
      type: string
      serverId: string
      clientId?: string | null
      requestedBy: string
      commandId: string
      command: unknown
      deadlineAt: Date
      startedAt: Date
    }): Promise<Operation> {
      const rows = await sql.query<Operation>(
        `INSERT INTO "Operation" (id, type, status, "serverId", "clientId", "requestedBy", "commandId", command, "deadlineAt", "startedAt", "createdAt", "updatedAt")
         VALUES ($1::uuid, $2, 'running', $3::uuid, $4::uuid, $5, $6::uuid, $7::jsonb, $8, $9, $10, $10)
         RETURNING ${OPERATION_COLUMNS}`,
        [
          randomUUID(),
          input.type,
          input.serverId,
          input.clientId ?? null,
          input.requestedBy,
          input.commandId,
          json(input.command),
          input.deadlineAt,
          input.startedAt,
          clock.now(),
        ],
        'operation-insert-dispatched',
      )
      return rows[0]!
    },

    async get(id: string, opts: { since?: number; limit?: number } = {}) {
      await logs.flush()
      const op = await prisma.operation.findUnique({
        where: { id },
        include: {
          logs: { where: { seq: { gt: opts.since ?? 0 } }, orderBy: { seq: 'asc' }, take: opts.limit ?? 5_000 },
        },
      })
      if (!op) throw new NotFound('operation', id)
      return op
    },

    async list(opts: {
      filter: { serverId?: string; clientId?: string; status?: OperationStatus; type?: string }
      page: { number: number; size: number }
      sort: { field: string; desc: boolean }[]
    }) {
      const where: Prisma.OperationWhereInput = {
        ...(opts.filter.serverId ? { serverId: opts.filter.serverId } : {}),
        ...(opts.filter.clientId ? { clientId: opts.filter.clientId } : {}),
        ...(opts.filter.status ? { status: opts.filter.status } : {}),
        ...(opts.filter.type ? { type: opts.filter.type } : {}),
      }
      const [rows, total] = await prisma.$transaction([
        prisma.operation.findMany({
          where,
          orderBy: [...opts.sort.map((s) => ({ [s.field]: s.desc ? 'desc' : 'asc' })), { id: 'asc' }],
          skip: (opts.page.number - 1) * opts.page.size,
          take: opts.page.size,
        }),
        prisma.operation.count({ where }),
      ])
      return { rows, total }
    },

    /** Operations of a client still queued or running (for the 409 on concurrent actions). */
    running(where: { clientId?: string; serverId?: string }) {
      return prisma.operation.findMany({
        where: { ...where, status: { in: ['queued', 'running'] } },
        orderBy: { createdAt: 'asc' },
      })
    },
  }
}

export type OperationService = ReturnType<typeof createOperationService>
