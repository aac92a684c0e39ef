import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { NotFound } from '../errors.ts'
import type { Operation, OperationLog, Prisma, PrismaClient } from '../generated/prisma/client.ts'
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
  /** 'master' when the master ended the operation itself (deadline, lost agent): the agent's late result replaces it. */
  origin?: 'master'
}

/** Every column, the enum as text, so a raw statement's row has the ORM's shape. */
export const operationColumns = (o: string) =>
  [
    'id',
    'kind',
    'status',
    '"serverId"',
    '"clientId"',
    '"requestedBy"',
    'steps',
    '"commandId"',
    'command',
    '"ackedAt"',
    '"deadlineAt"',
    'result',
    'error',
    '"logSeq"',
    '"createdAt"',
    '"startedAt"',
    '"finishedAt"',
    '"updatedAt"',
    '"parentId"',
    '"childIndex"',
    'plan',
    '"cancelledAt"',
    'recovery',
  ]
    .map((c) => (c === 'status' ? `${o}status::text AS status` : `${o}${c}`))
    .join(', ')

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
  /** Rows written behind their answer (servers/image-list-records.ts): a read waits for the ones it may show. */
  behind?: { settle(operationId?: string): Promise<void> }
}) {
  const { prisma, sql, clock, logs } = deps

  /**
   * One step's new state, merged into the stored list in one statement: a progress frame is handled in its
   * connection's frame queue ahead of the command's result, so its read-then-write used to delay every result.
   * The first step of that name is updated (startedAt kept once set, endedAt set on a final status); a step the
   * plan did not list is appended.
   */
  const patched = (e: string) =>
    `(${e} || jsonb_build_object('status', $2::text)
       || CASE WHEN $2::text = 'running' AND NOT (${e} ? 'startedAt') THEN jsonb_build_object('startedAt', $3::text)
               ELSE '{}'::jsonb END
       || CASE WHEN $2::text IN ('done', 'failed', 'skipped') THEN jsonb_build_object('endedAt', $3::text)
               ELSE '{}'::jsonb END)`
  const STEP_SQL = `WITH target AS (
      SELECT o.id, o.steps, (SELECT min(i) FROM jsonb_array_elements(o.steps) WITH ORDINALITY AS t(e, i)
                              WHERE e->>'name' = $5::text) AS first
        FROM "Operation" o WHERE o.id = $1::uuid FOR UPDATE)
    UPDATE "Operation" o SET "updatedAt" = $4, steps = CASE
        WHEN target.first IS NULL THEN target.steps || jsonb_build_array(${patched("jsonb_build_object('name', $5::text)")})
        ELSE (SELECT jsonb_agg(CASE WHEN t.i = target.first THEN ${patched('t.e')} ELSE t.e END ORDER BY t.i)
                FROM jsonb_array_elements(target.steps) WITH ORDINALITY AS t(e, i))
      END
      FROM target
     WHERE o.id = target.id
     RETURNING o.id`

  return {
    logs,

    /** Appends log lines (batched). */
    log(id: string, lines: LogLine[] | string) {
      return logs.append(id, typeof lines === 'string' ? [{ message: lines }] : lines)
    },

    /** Marks a step running/done/failed, adding it when the plan did not list it (one statement). */
    async step(id: string, name: string, status: OperationStep['status']) {
      const now = clock.now()
      const rows = await sql.query(STEP_SQL, [id, status, now.toISOString(), now, name], 'operation-step')
      if (rows.length === 0) throw new NotFound('operation', id)
    },

    /**
     * Moves the operation to a final state once, after its queued log lines are stored; returns the final row and the
     * status it had, or undefined when it had already ended. With `replaceMasterEnding`, an ending the master decided
     * itself (error.origin 'master': deadline, lost agent) is replaced too: the agent's real outcome wins.
     */
    async finish(
      id: string,
      outcome: { status: 'succeeded' | 'failed' | 'interrupted'; result?: unknown; error?: OperationError },
      opts: { replaceMasterEnding?: boolean } = {},
    ): Promise<{ operation: Operation; previousStatus: OperationStatus } | undefined> {
      logs.forget(id) // before the flush: it may queue the "lines dropped" line
      await logs.flush()
      // One statement: the status condition makes it happen once, and the row comes back for the follow-up. Straight
      // through the driver because every command's round trip waits on it (see db/sql.ts).
      const now = clock.now()
      const rows = await sql.query<Operation & { previousStatus: OperationStatus }>(
        `WITH prev AS (SELECT id, status::text AS "previousStatus" FROM "Operation" WHERE id = $5::uuid FOR UPDATE)
         UPDATE "Operation" o SET status = $1::"OperationStatus", "finishedAt" = $2, "updatedAt" = $2,
                result = CASE WHEN o.status IN ('queued', 'running') THEN COALESCE($3::jsonb, o.result) ELSE $3::jsonb END,
                error = CASE WHEN o.status IN ('queued', 'running') THEN COALESCE($4::jsonb, o.error) ELSE $4::jsonb END
           FROM prev
          WHERE o.id = prev.id AND (o.status IN ('queued', 'running')
                OR ($6::boolean AND o.error->>'origin' = 'master'))
         RETURNING ${operationColumns('o.')}, prev."previousStatus"`,
        [outcome.status, now, json(outcome.result), json(outcome.error), id, opts.replaceMasterEnding === true],
        'operation-finish',
      )
      const row = rows[0]
      if (!row) return undefined
      const { previousStatus, ...operation } = row
      return { operation, previousStatus }
    },

    async get(id: string, opts: { since?: number; limit?: number } = {}) {
      await logs.flush()
      await deps.behind?.settle(id)
      const op = await prisma.operation.findUnique({
        where: { id },
        include: {
          logs: { where: { seq: { gt: opts.since ?? 0 } }, orderBy: { seq: 'asc' }, take: opts.limit ?? 5_000 },
          children: { orderBy: { childIndex: 'asc' } },
        },
      })
      if (!op) throw new NotFound('operation', id)
      return op
    },

    /**
     * An ended operation as `get` shows it, from the row its completion just wrote (no parent: no children): only its
     * log is read, in one statement straight through the driver, the last read before a `Prefer: wait` answer.
     */
    async withLog(op: Operation): Promise<Operation & { logs: OperationLog[]; children: Operation[] }> {
      await logs.flush()
      const rows = await sql.query<Omit<OperationLog, 'id'> & { id: string }>(
        `SELECT id::text AS id, "operationId", seq, ts, stream, level, step, message, "agentSeq"
           FROM "OperationLog" WHERE "operationId" = $1::uuid ORDER BY seq LIMIT 5000`,
        [op.id],
        'operation-final-log',
      )
      const lines = rows.map((l) => ({ ...l, id: BigInt(l.id) }))
      // A line written after the row (a failed follow-up's) counts in lastSeq as GET would show it.
      const logSeq = Math.max(op.logSeq, lines.at(-1)?.seq ?? 0)
      return { ...op, logSeq, logs: lines, children: [] }
    },

    async list(opts: {
      filter: { serverId?: string; clientId?: string; status?: OperationStatus; kind?: string }
      page: { number: number; size: number }
      sort: { field: string; desc: boolean }[]
    }) {
      await deps.behind?.settle()
      const where: Prisma.OperationWhereInput = {
        ...(opts.filter.serverId ? { serverId: opts.filter.serverId } : {}),
        ...(opts.filter.clientId ? { clientId: opts.filter.clientId } : {}),
        ...(opts.filter.status ? { status: opts.filter.status } : {}),
        ...(opts.filter.kind ? { kind: opts.filter.kind } : {}),
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
  }
}

export type OperationService = ReturnType<typeof createOperationService>
