import { PGlite } from '@electric-sql/pglite'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { pgliteSql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { createOperationLogWriter } from './operation-log-writer.ts'

// The batch statement alone, on a real PostgreSQL (PGlite) with the two tables it writes.
const db = new PGlite()
afterAll(() => db.close())
const A = '00000000-0000-4000-8000-00000000000a'
const B = '00000000-0000-4000-8000-00000000000b'

describe('operation log writer: one statement per batch', () => {
  it('stores every line with its seq and raises each operation logSeq, keeping lines already stored', async () => {
    await db.exec(`
      CREATE TABLE "Operation" (id uuid PRIMARY KEY, "logSeq" int NOT NULL DEFAULT 0);
      CREATE TABLE "OperationLog" (id bigserial PRIMARY KEY, "operationId" uuid NOT NULL, seq int NOT NULL,
        ts timestamp(3) NOT NULL, stream text NOT NULL, level text NOT NULL, step text, message text NOT NULL,
        "agentSeq" int, UNIQUE ("operationId", seq), UNIQUE ("operationId", "agentSeq"));
      INSERT INTO "Operation" (id, "logSeq") VALUES ('${A}', 0), ('${B}', 5);
      INSERT INTO "OperationLog" ("operationId", seq, ts, stream, level, message)
        VALUES ('${B}', 6, now(), 'info', 'info', 'already there');`)
    const writer = createOperationLogWriter({
      // Only the seq of an operation not started here is read through the ORM.
      prisma: {
        operation: { findUnique: async () => ({ logSeq: 5 }) },
        operationLog: { aggregate: async () => ({ _max: { agentSeq: null } }) },
      } as unknown as PrismaClient,
      sql: pgliteSql(db),
      logger: pino({ level: 'silent' }),
      flushMs: 10_000,
    })
    writer.started(A)
    await writer.append(A, [
      { message: 'one', step: 'flags' },
      { message: 'two', level: 'warn', stream: 'stderr' },
    ])
    await writer.append(B, [{ message: 'replayed: same seq as a stored line' }, { message: 'new' }])
    await writer.flush()
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT "operationId", seq, stream, level, step, message FROM "OperationLog" ORDER BY "operationId", seq`,
    )
    expect(rows).toEqual([
      { operationId: A, seq: 1, stream: 'info', level: 'info', step: 'flags', message: 'one' },
      { operationId: A, seq: 2, stream: 'stderr', level: 'warn', step: null, message: 'two' },
      { operationId: B, seq: 6, stream: 'info', level: 'info', step: null, message: 'already there' },
      { operationId: B, seq: 7, stream: 'info', level: 'info', step: null, message: 'new' },
    ])
    const ops = await db.query<{ id: string; logSeq: number }>(`SELECT id, "logSeq" FROM "Operation" ORDER BY id`)
    expect(ops.rows).toEqual([
      { id: A, logSeq: 2 },
      { id: B, logSeq: 7 },
    ])
  }, 180_000)
})
