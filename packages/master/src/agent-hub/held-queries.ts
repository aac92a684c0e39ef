import type { Operation } from '../generated/prisma/client.ts'
import type { OperationStep } from '../operations/operation-service.ts'
import type { LogLine } from '../operations/operation-log-writer.ts'
import type { Settled } from './command-tracker.ts'

/**
 * A held query's row as it ended (or stands), every column named as in the table, and its log lines numbered 1…n:
 * what the owner writes in one statement (operations/operation-record.ts).
 */
export interface HeldRecord {
  id: string
  row: Record<string, unknown>
  /** Its outcome, once it ended. */
  settled?: Settled
  lines: (LogLine & { seq: number; ts: Date })[]
}

/** How an owner waits for its held query: the ended record, or undefined when it must record the row itself. */
export interface HeldQuery {
  /** Resolves with the ended record (then the owner writes it), or undefined after `ms` (see record()). */
  wait(ms: number): Promise<HeldRecord | undefined>
  /**
   * After a wait that timed out: writes the row as it stands through `write` and hands the operation to the
   * ordinary path (deadline sweep, lost agent, late result). False when it ended meanwhile: wait() again.
   */
  record(write: (record: HeldRecord) => Promise<void>): Promise<boolean>
}

/** Lines kept per held query; an agent that sends more for a read-only list gets one line saying how many. */
const MAX_LINES = 1_000

interface Entry {
  op: Operation
  steps: OperationStep[]
  ackedAt?: Date
  lines: HeldRecord['lines']
  dropped: number
  ended?: HeldRecord
  onEnd?: (record: HeldRecord) => void
}

/**
 * Read-only queries of an agent (an image list) whose operation row is written once, when it ends: nothing they do
 * changes a server, so a master that dies before the end leaves nothing to recover, and the HTTP caller gets an
 * error instead of an answer. Until then the row, its ack, steps and log lines live here. An owner that stops
 * waiting records the row as it stands (record()), and from then on the operation is an ordinary one.
 */
export function createHeldQueries(now: () => Date) {
  const held = new Map<string, Entry>()
  /** Rows being written by record(): an ending that arrives meanwhile waits for the row to exist. */
  const recording = new Map<string, Promise<void>>()

  const snapshot = (e: Entry): HeldRecord => {
    const lines = [...e.lines]
    if (e.dropped > 0)
      lines.push({
        seq: lines.length + 1,
        ts: now(),
        level: 'warn',
        message: `…${e.dropped} lines dropped (a read-only query keeps at most ${MAX_LINES} log lines)`,
      })
    const row = { ...e.op, steps: e.steps, ackedAt: e.ackedAt ?? null, logSeq: lines.length }
    return { id: e.op.id, row, lines }
  }

  return {
    /** Starts holding a query's operation (before its command is sent). */
    hold(op: Operation, steps: OperationStep[]): HeldQuery {
      const entry: Entry = { op, steps, lines: [], dropped: 0 }
      held.set(op.id, entry)
      return {
        wait: (ms) =>
          new Promise((resolve) => {
            if (entry.ended) return resolve(entry.ended)
            const t = setTimeout(() => {
              entry.onEnd = undefined
              resolve(undefined)
            }, ms)
            t.unref() // a stopping master does not wait for it: the query is lost like in a crash (see above)
            entry.onEnd = (record) => {
              clearTimeout(t)
              resolve(record)
            }
          }),
        async record(write) {
          if (held.get(op.id) !== entry || entry.ended) return false
          held.delete(op.id)
          const writing = write(snapshot(entry))
          recording.set(op.id, writing)
          try {
            await writing
          } finally {
            recording.delete(op.id)
          }
          return true
        },
      }
    },

    has: (operationId: string) => held.has(operationId),

    /** Resolves when a row record() is writing for this operation exists (at once when none is being written). */
    recorded: (operationId: string) => recording.get(operationId)?.catch(() => undefined) ?? Promise.resolve(),

    /** Ends a held query with its outcome; false when it is not held (the caller takes the ordinary path). */
    end(operationId: string, settled: Settled): boolean {
      const e = held.get(operationId)
      if (!e) return false
      held.delete(operationId)
      const at = now()
      const record = snapshot(e)
      record.settled = settled
      record.row = {
        ...record.row,
        status: settled.status,
        result: settled.result ?? null,
        error: settled.error ?? null,
        finishedAt: at,
        updatedAt: at,
      }
      e.ended = record
      e.onEnd?.(record)
      return true
    },

    acked(operationId: string): boolean {
      const e = held.get(operationId)
      if (e) e.ackedAt ??= now()
      return e !== undefined
    },

    log(operationId: string, lines: LogLine[]): boolean {
      const e = held.get(operationId)
      if (!e) return false
      for (const line of lines) {
        if (e.lines.length >= MAX_LINES - 1) e.dropped++
        else e.lines.push({ ...line, seq: e.lines.length + 1, ts: line.ts ?? now() })
      }
      return true
    },

    /** A step's new state, as operations.step would store it. */
    step(operationId: string, name: string, status: OperationStep['status']): boolean {
      const e = held.get(operationId)
      if (!e) return false
      const at = now().toISOString()
      const i = e.steps.findIndex((s) => s.name === name)
      const step: OperationStep = { ...(e.steps[i] ?? { name }), status }
      if (status === 'running') step.startedAt ??= at
      if (status === 'done' || status === 'failed' || status === 'skipped') step.endedAt = at
      e.steps = i < 0 ? [...e.steps, step] : e.steps.map((s, j) => (j === i ? step : s))
      return true
    },

    /** Held queries of a server (its agent is gone) or past their deadline: the master ends them as it does rows. */
    ids(filter: { serverId?: string; deadlineBefore?: Date }): string[] {
      return [...held.values()]
        .filter((e) => filter.serverId === undefined || e.op.serverId === filter.serverId)
        .filter((e) => !filter.deadlineBefore || (e.op.deadlineAt !== null && e.op.deadlineAt < filter.deadlineBefore))
        .map((e) => e.op.id)
    },
  }
}

export type HeldQueries = ReturnType<typeof createHeldQueries>
