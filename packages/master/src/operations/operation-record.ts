import type { HeldRecord } from '../agent-hub/held-queries.ts'
import type { Sql } from '../db/sql.ts'
import type { Operation } from '../generated/prisma/client.ts'
import { operationColumns } from './operation-service.ts'

/**
 * The common expressions that write a held query's row (every column, from $1 as one JSON document named as the
 * table's columns) and its log lines (from $2), for one statement: a statement is one transaction, and the lines
 * reference the row inserted beside them. `op` returns the row.
 */
export const RECORD_OPERATION_CTES = `op AS (
    INSERT INTO "Operation" SELECT * FROM jsonb_populate_record(NULL::"Operation", $1::jsonb)
    RETURNING ${operationColumns('')}
  ), lines AS (
    INSERT INTO "OperationLog" ("operationId", seq, ts, stream, level, step, message, "agentSeq")
    SELECT op.id, l.seq, l.ts, coalesce(l.stream, 'info'), coalesce(l.level, 'info'), l.step, l.message, l."agentSeq"
      FROM op, jsonb_to_recordset($2::jsonb)
           AS l(seq int, ts timestamp(3), stream text, level text, step text, message text, "agentSeq" int)
  )`

/** $1 and $2 of RECORD_OPERATION_CTES. Dates become ISO strings, which a `timestamp` column reads as UTC. */
export function recordParams(record: HeldRecord): [string, string] {
  return [JSON.stringify(record.row), JSON.stringify(record.lines)]
}

/** Writes a held query's row and log lines in one statement; returns the row as stored. */
export async function recordOperation(sql: Sql, record: HeldRecord): Promise<Operation> {
  const rows = await sql.query<Operation>(
    `WITH ${RECORD_OPERATION_CTES} SELECT * FROM op`,
    recordParams(record),
    'operation-record',
  )
  return rows[0]!
}
