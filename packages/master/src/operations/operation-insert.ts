import { randomUUID } from 'node:crypto'
import type { Sql } from '../db/sql.ts'
import type { Operation, Prisma } from '../generated/prisma/client.ts'
import { operationColumns } from './operation-service.ts'

/** What `begin` stores for a new operation (the ORM's create data, as begin builds it). */
export interface NewOperation {
  kind: string
  status: 'running'
  serverId: string
  clientId: string | null
  requestedBy: string
  steps: { name: string; status: string }[]
  commandId: string
  command: Prisma.InputJsonValue
  startedAt: Date
  deadlineAt: Date
  parentId?: string
  childIndex?: number
}

/**
 * The row of a read-only query held in memory until it ends (kind-spec.ts recordOnEnd), in the ORM's shape: the id
 * and timestamps made as insertOperation makes them, nothing written.
 */
export function unrecordedOperation(op: NewOperation): Operation {
  return {
    id: randomUUID(),
    kind: op.kind,
    status: op.status,
    serverId: op.serverId,
    clientId: op.clientId,
    requestedBy: op.requestedBy,
    // The stored forms as the database would give them back (plain JSON values).
    steps: JSON.parse(JSON.stringify(op.steps)),
    commandId: op.commandId,
    command: JSON.parse(JSON.stringify(op.command)),
    ackedAt: null,
    deadlineAt: op.deadlineAt,
    result: null,
    error: null,
    logSeq: 0,
    createdAt: op.startedAt,
    startedAt: op.startedAt,
    finishedAt: null,
    updatedAt: op.startedAt,
    parentId: null,
    childIndex: null,
    plan: null,
    cancelledAt: null,
    recovery: null,
  }
}

const INSERT_COLUMNS = `INSERT INTO "Operation" (id, kind, status, "serverId", "clientId", "requestedBy", steps,
                            "commandId", command, "startedAt", "deadlineAt", "parentId", "childIndex", "createdAt",
                            "updatedAt")`
// Every parameter typed: as a SELECT list (the guarded insert) nothing would give them the columns' types.
const INSERT_VALUES = `$1::uuid, $2::text, $3::"OperationStatus", $4::uuid, $5::uuid, $6::text, $7::jsonb, $8::uuid,
                       $9::jsonb, $10::timestamp(3), $11::timestamp(3), $12::uuid, $13::int, $14::timestamp(3),
                       $14::timestamp(3)`

/** The bind parameters of INSERT_VALUES: the id and updatedAt made here as the ORM would (no database default). */
function insertParams(op: NewOperation, now: Date): unknown[] {
  return [
    randomUUID(),
    op.kind,
    op.status,
    op.serverId,
    op.clientId,
    op.requestedBy,
    JSON.stringify(op.steps),
    op.commandId,
    JSON.stringify(op.command),
    op.startedAt,
    op.deadlineAt,
    op.parentId ?? null,
    op.childIndex ?? null,
    now,
  ]
}

/**
 * Inserts an operation row in one statement straight through the driver and returns it in the ORM's shape: the
 * lock-free start (image lists, test sleeps) is one INSERT, and the ORM cost several times the driver's CPU per
 * statement (db/sql.ts).
 */
export async function insertOperation(sql: Pick<Sql, 'query'>, op: NewOperation, now: Date): Promise<Operation> {
  const rows = await sql.query<Operation>(
    `${INSERT_COLUMNS} VALUES (${INSERT_VALUES}) RETURNING ${operationColumns('')}`,
    insertParams(op, now),
    'operation-insert',
  )
  return rows[0]!
}

/** What the guarded insert found: the new row, or why there is none. */
export type GuardedInsert =
  { operation: Operation } | { running: { id: string; kind: string } } | { clientStatus: string | null }

/**
 * An exclusive client operation's checks and insert in one statement, for a transaction that already holds the
 * client's advisory lock (the statement's snapshot is taken after the lock, so it sees every start before it): the
 * row is inserted only when no exclusive operation of `exclusiveKinds` is queued or running on the client and the
 * client's status is one of `clientStatuses`. Otherwise nothing is written and the answer names the running
 * operation (first, as begin's assertIdle does) or the client's status (null: no such row).
 */
export async function insertGuardedClientOperation(
  sql: Pick<Sql, 'query'>,
  op: NewOperation & { clientId: string },
  now: Date,
  guard: { exclusiveKinds: readonly string[]; clientStatuses: readonly string[] },
): Promise<GuardedInsert> {
  const rows = await sql.query<
    Operation & { runningId: string | null; runningKind: string | null; clientStatus: string | null }
  >(
    `WITH running AS (
       SELECT id AS "runningId", kind AS "runningKind" FROM "Operation"
        WHERE "clientId" = $5::uuid AND kind = ANY($15::text[]) AND status IN ('queued', 'running')
        LIMIT 1),
     client AS (SELECT status::text AS "clientStatus" FROM "Client" WHERE id = $5::uuid),
     inserted AS (
       ${INSERT_COLUMNS}
       SELECT ${INSERT_VALUES}
        WHERE NOT EXISTS (SELECT 1 FROM running)
          AND (SELECT "clientStatus" FROM client) = ANY($16::text[])
       RETURNING ${operationColumns('')})
     SELECT inserted.*, running.*, client.*
       FROM (SELECT 1) AS one
       LEFT JOIN inserted ON true LEFT JOIN running ON true LEFT JOIN client ON true`,
    [...insertParams(op, now), [...guard.exclusiveKinds], [...guard.clientStatuses]],
    'operation-insert-guarded',
  )
  const { runningId, runningKind, clientStatus, ...row } = rows[0]!
  if (runningId !== null) return { running: { id: runningId, kind: runningKind ?? '' } }
  if (row.id === null) return { clientStatus }
  return { operation: row }
}
