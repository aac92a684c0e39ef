import type { Logger } from 'pino'
import type { Sql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'

export interface LogLine {
  ts?: Date
  stream?: string
  level?: string
  step?: string | null
  message: string
  /** The agent's seq of the line (its log frame's): a line whose seq was already stored is a replay, skipped. */
  agentSeq?: number
}

/** Longest stored line; an app that prints a megabyte on one line must not bloat the table. */
const MAX_LINE = 8_192

/**
 * Buffers operation log lines and writes them in batches (one createMany per flush), numbering them per operation
 * so a reader can poll with `since=<seq>`. Sequence numbers continue from Operation.logSeq after a restart.
 */
export function createOperationLogWriter(deps: {
  prisma: PrismaClient
  /** The batch's one statement goes straight through the driver: every command's result waits on a flush. */
  sql: Sql
  logger: Logger
  flushMs?: number
  maxBatch?: number
  /** Lines stored per operation; past it lines are counted, and one last line says how many were dropped. */
  maxLinesPerOperation?: number
}) {
  const { prisma } = deps
  const log = deps.logger.child({ component: 'operation-log' })
  const flushMs = deps.flushMs ?? 200
  const maxBatch = deps.maxBatch ?? 500
  const maxLines = deps.maxLinesPerOperation ?? 20_000
  const seqs = new Map<string, number>()
  /** Per operation, the highest agent seq taken: an agent sends in order, so anything at or below it is a replay. */
  const agentSeqs = new Map<string, number>()
  const dropped = new Map<string, number>()
  let pending: {
    operationId: string
    seq: number
    ts: Date
    stream: string
    level: string
    step: string | null
    message: string
    agentSeq?: number
  }[] = []
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> = Promise.resolve()

  const loaded = new Map<string, Promise<void>>()
  /** Loads the operation's last stored seq once; concurrent appends share the same load. */
  function loadSeq(operationId: string): Promise<void> {
    let p = loaded.get(operationId)
    if (!p) {
      p = Promise.all([
        prisma.operation.findUnique({ where: { id: operationId }, select: { logSeq: true } }),
        // After a master restart: the agent replays what it is unsure was stored, and what was is skipped.
        prisma.operationLog.aggregate({ where: { operationId }, _max: { agentSeq: true } }),
      ]).then(([op, stored]) => {
        if (!seqs.has(operationId)) seqs.set(operationId, op?.logSeq ?? 0)
        const agentSeq = stored._max.agentSeq
        if (agentSeq !== null && !agentSeqs.has(operationId)) agentSeqs.set(operationId, agentSeq)
      })
      loaded.set(operationId, p)
    }
    return p
  }

  async function writeBatch(batch: typeof pending) {
    if (batch.length === 0) return
    const maxSeq = new Map<string, number>()
    for (const l of batch) maxSeq.set(l.operationId, Math.max(maxSeq.get(l.operationId) ?? 0, l.seq))
    try {
      // One statement (one transaction): the lines, and each operation's last seq for readers polling with since=.
      await deps.sql.query(
        `WITH lines AS (
           INSERT INTO "OperationLog" ("operationId", seq, ts, stream, level, step, message, "agentSeq")
           SELECT * FROM unnest($1::uuid[], $2::int[], $3::timestamp(3)[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $10::int[])
           ON CONFLICT DO NOTHING)
         UPDATE "Operation" o SET "logSeq" = m.seq
           FROM unnest($8::uuid[], $9::int[]) AS m(id, seq)
          WHERE o.id = m.id AND o."logSeq" < m.seq`,
        [
          batch.map((l) => l.operationId),
          batch.map((l) => l.seq),
          batch.map((l) => l.ts.toISOString()),
          batch.map((l) => l.stream),
          batch.map((l) => l.level),
          batch.map((l) => l.step),
          batch.map((l) => l.message),
          [...maxSeq.keys()],
          [...maxSeq.values()],
          batch.map((l) => l.agentSeq ?? null),
        ],
        'operation-log-batch',
      )
    } catch (err) {
      // Losing log lines silently is what we promise not to do: say so loudly, with how many.
      log.error({ err, lines: batch.length }, 'could not store operation log lines')
    }
  }

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = []
    flushing = flushing.then(() => writeBatch(batch))
    return flushing
  }

  return {
    /** Queues lines for an operation; they are stored within flushMs. */
    async append(operationId: string, lines: LogLine[]): Promise<void> {
      await loadSeq(operationId)
      // From here to the end of the loop nothing awaits, so concurrent appends cannot take the same seq.
      for (const line of lines) {
        if (line.agentSeq !== undefined) {
          if (line.agentSeq <= (agentSeqs.get(operationId) ?? -1)) continue
          agentSeqs.set(operationId, line.agentSeq)
        }
        // A chatty or hostile command cannot fill the table: the operation's log stops at maxLines (its last slot
        // is kept for the "dropped" line written when the operation ends).
        if (seqs.get(operationId)! >= maxLines - 1) {
          dropped.set(operationId, (dropped.get(operationId) ?? 0) + 1)
          continue
        }
        const seq = seqs.get(operationId)! + 1
        seqs.set(operationId, seq)
        pending.push({
          operationId,
          seq,
          ts: line.ts ?? new Date(),
          stream: line.stream ?? 'info',
          level: line.level ?? 'info',
          step: line.step ?? null,
          message: line.message.length > MAX_LINE ? line.message.slice(0, MAX_LINE) + ' …[truncated]' : line.message,
          ...(line.agentSeq === undefined ? {} : { agentSeq: line.agentSeq }),
        })
      }
      if (pending.length >= maxBatch) void flush()
      else if (!timer) timer = setTimeout(() => void flush(), flushMs)
    },
    /** A new operation (its row just inserted, logSeq 0): its first line needs no read of the row. */
    started(operationId: string) {
      if (loaded.has(operationId)) return
      seqs.set(operationId, 0)
      loaded.set(operationId, Promise.resolve())
    },
    /** Writes everything queued so far (before an operation is marked final, and at shutdown). */
    flush,
    /**
     * Forgets the in-memory counters of a finished operation, queueing its "…N lines dropped" line first when the
     * cap was reached (call before the last flush).
     */
    forget(operationId: string) {
      const lost = dropped.get(operationId)
      const seq = seqs.get(operationId)
      if (lost && seq !== undefined)
        pending.push({
          operationId,
          seq: seq + 1,
          ts: new Date(),
          stream: 'info',
          level: 'warn',
          step: null,
          message: `…${lost} lines dropped (an operation keeps at most ${maxLines} log lines)`,
        })
      dropped.delete(operationId)
      seqs.delete(operationId)
      agentSeqs.delete(operationId)
      loaded.delete(operationId)
    },
  }
}

export type OperationLogWriter = ReturnType<typeof createOperationLogWriter>
