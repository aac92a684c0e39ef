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

/**
 * Inserts an operation row in one statement straight through the driver and returns it in the ORM's shape: the
 * lock-free start (image lists, test sleeps) is one INSERT, and the ORM cost several times the driver's CPU per
 * statement (db/sql.ts). The id and updatedAt are made here as the ORM would (neither has a database default).
 */
export async function insertOperation(sql: Sql, op: NewOperation, now: Date): Promise<Operation> {
  const rows = await sql.query<Operation>(
    `INSERT INTO "Operation" (id, kind, status, "serverId", "clientId", "requestedBy", steps, "commandId", command,
                              "startedAt", "deadlineAt", "parentId", "childIndex", "createdAt", "updatedAt")
     VALUES ($1::uuid, $2, $3::"OperationStatus", $4::uuid, $5::uuid, $6, $7::jsonb, $8::uuid, $9::jsonb,
             $10, $11, $12::uuid, $13, $14, $14)
     RETURNING ${operationColumns('')}`,
    [
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
    ],
    'operation-insert',
  )
  return rows[0]!
}
