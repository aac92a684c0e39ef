import { wireError, type WireError } from '@alfa/protocol'

/** How long a handler aborted at its deadline may take to roll back before the deadline is reported anyway. */
export const ROLLBACK_GRACE_MS = 2 * 60_000

/** How a handler run under a deadline ended. */
export type DeadlineOutcome<T> =
  | { kind: 'value'; value: T }
  | { kind: 'error'; error: unknown }
  /** The deadline passed and the handler was still busy (rolling back) when the grace ran out. */
  | { kind: 'overran' }

/**
 * Runs `work` with a signal that aborts at `deadlineMs`. An aborted handler is not abandoned: it gets up to `graceMs`
 * to stop and undo what it made (its rollback uses its own signal), because reporting DEADLINE_EXCEEDED while the
 * rollback still runs would let a retry race it. `settled` resolves when the handler really ended, whatever was
 * reported, so a per-client lock can be held until then.
 */
export function runWithDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  deadlineMs: number,
  graceMs = ROLLBACK_GRACE_MS,
): { signal: AbortSignal; outcome: Promise<DeadlineOutcome<T>>; settled: Promise<void> } {
  const controller = new AbortController()
  const deadline = setTimeout(() => controller.abort(new Error(`deadline of ${deadlineMs} ms`)), deadlineMs)
  let graceTimer: NodeJS.Timeout | undefined
  const running = Promise.resolve()
    .then(() => work(controller.signal))
    .then(
      (value): DeadlineOutcome<T> => ({ kind: 'value', value }),
      (error: unknown): DeadlineOutcome<T> => ({ kind: 'error', error }),
    )
  const settled = running.then(() => {
    clearTimeout(deadline)
    clearTimeout(graceTimer)
  })
  const graceOver = new Promise<DeadlineOutcome<T>>((resolve) => {
    controller.signal.addEventListener(
      'abort',
      () => {
        graceTimer = setTimeout(() => resolve({ kind: 'overran' }), graceMs)
      },
      { once: true },
    )
  })
  return { signal: controller.signal, outcome: Promise.race([running, graceOver]), settled }
}

/** The DEADLINE_EXCEEDED error, saying whether the handler had stopped (and rolled back) when it was reported. */
export function deadlineError(deadlineMs: number, stopped: boolean, graceMs = ROLLBACK_GRACE_MS): WireError {
  const how = stopped
    ? 'it was stopped and what it made was undone'
    : `its rollback was still running ${Math.round(graceMs / 1000)} s later (this client stays locked until it ends)`
  return wireError('DEADLINE_EXCEEDED', `the command ran past its deadline of ${deadlineMs} ms; ${how}`)
}
