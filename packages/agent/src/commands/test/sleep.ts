import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { wireError } from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { statePaths } from '../../state.ts'

/**
 * test.sleep: waits `ms` (aborting at the deadline) and, with a marker, appends one line per real run to
 * <stateDir>/test-markers/<marker>.log, so tests can count runs and prove an id never runs twice. The line is
 * written before the wait, so a run killed mid-sleep still counts.
 */
export const testSleep: CommandHandler<'test.sleep'> = async (ctx, deps) => {
  const { ms, marker, fail } = ctx.payload
  let file: string | undefined
  if (marker !== undefined) {
    const dir = statePaths(deps.config.stateDir).testMarkers
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    file = path.join(dir, `${marker}.log`)
    await fs.appendFile(file, `${ctx.id} ${new Date(deps.now()).toISOString()}\n`)
  }
  ctx.progress('sleep', 'running')
  ctx.log(`sleeping ${ms} ms`, { stream: 'info', step: 'sleep' })
  const started = Date.now()
  await sleep(ms, undefined, { signal: ctx.signal })
  ctx.progress('sleep', 'done')
  const sleptMs = Date.now() - started
  if (fail) throw new CommandError(wireError('INTERNAL', `test.sleep asked to fail after ${sleptMs} ms`))
  if (file === undefined) return { sleptMs }
  const runs = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).length
  return { sleptMs, runs }
}
