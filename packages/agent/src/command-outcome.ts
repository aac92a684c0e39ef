import { wireError, type ResultFrame, type WireError } from '@alfa/protocol'
import { CommandError } from './command-context.ts'
import { deadlineError } from './deadline.ts'
import { ExecError } from './exec.ts'
import type { JournalResult } from './journal.ts'

/** The `result` frame for a stored outcome. */
export function resultFrame(id: string, result: JournalResult): ResultFrame {
  return result.ok
    ? { kind: 'result', id, ok: true, data: result.data }
    : { kind: 'result', id, ok: false, error: result.error }
}

/** The wire error for whatever a handler threw; the deadline wins, because an aborted process fails as a side effect. */
export function toWireError(error: unknown, signal: AbortSignal, deadlineMs: number): WireError {
  if (signal.aborted) return deadlineError(deadlineMs, true)
  if (error instanceof CommandError) return error.wire
  if (error instanceof ExecError) return error.toWire()
  return wireError('INTERNAL', error instanceof Error ? error.message : String(error))
}
