import { execFailedError, wireError, type CommandType, type WireError } from '@alfa/protocol'
import { CommandError, type CommandContext, type Narrator } from '../../command-context.ts'
import { ExecError } from '../../exec.ts'

/** A pipeline step's failure: the wire error names the step in its message and carries {step} in its data. */
export class StepFailure extends CommandError {
  constructor(
    readonly step: string,
    wire: WireError,
  ) {
    super(wire)
  }
}

/** The wire error of `error` with "<step> failed: " in front and the step in its data. */
export function stepWireError(step: string, error: unknown, label = step): WireError {
  const prefix = `${label} failed: `
  if (error instanceof ExecError) {
    // EXEC_FAILED's data is fixed (argv, exit code, stderr): `step` rides along; the message names it in any case.
    const wire = execFailedError(prefix + error.message, error.argv, error.exitCode, error.stderrTail)
    return { ...wire, data: { ...(wire.data ?? {}), step } }
  }
  if (error instanceof CommandError) {
    const data = error.wire.data && !Array.isArray(error.wire.data) ? error.wire.data : {}
    return wireError(error.wire.code, prefix + error.wire.message, { ...data, step })
  }
  return wireError('INTERNAL', prefix + (error instanceof Error ? error.message : String(error)), { step })
}

/**
 * Runs named steps: each announced with progress running → done | failed and narrated in the log under its name,
 * so the master's create_log can show where a failure happened.
 */
export function stepRunner<T extends CommandType>(ctx: CommandContext<T>) {
  /** `label`: what the failure message names when it differs from the step (a step is lower-case on the wire). */
  return async function step<R>(name: string, work: () => Promise<R>, label = name): Promise<R> {
    // Journaled before the step changes anything, so a restart knows how far the command got.
    await ctx.checkpoint({ step: name, stepDone: false })
    ctx.progress(name, 'running')
    try {
      const value = await work()
      await ctx.checkpoint({ stepDone: true })
      ctx.progress(name, 'done')
      return value
    } catch (error) {
      const wire = stepWireError(name, error, label)
      const tail =
        error instanceof ExecError && error.stderrTail.trim() !== ''
          ? ` (${error.stderrTail.trim().split('\n').slice(-3).join(' | ')})`
          : ''
      ctx.log(`${wire.message}${tail}`, { step: name, level: 'error' })
      ctx.progress(name, 'failed')
      throw new StepFailure(name, wire)
    }
  }
}

/** Narrates one line of a step (the agent's own words). */
export function stepLog<T extends CommandType>(ctx: CommandContext<T>, step: string) {
  return (line: string, level: 'info' | 'warn' = 'info') => ctx.log(line, { step, level })
}

/**
 * The rollback logger of a multi-step command: `attempt(what, work)` runs one undo, logs "rolled back: what", and on
 * failure logs it as a warning and goes on, so one failed undo never stops the others.
 */
export function rollbackSteps(ctx: Narrator) {
  const log = (line: string, level: 'info' | 'warn' = 'info') => ctx.log(line, { step: 'rollback', level })
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work()
      log(`rolled back: ${what}`)
    } catch (error) {
      log(`rollback of ${what} failed: ${error instanceof Error ? error.message : String(error)}`, 'warn')
    }
  }
  return { log, attempt }
}
