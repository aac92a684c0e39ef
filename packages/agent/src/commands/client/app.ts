import {
  COMMAND_DEADLINES_MS,
  containerNameForSlug,
  dbNameForSlug,
  wireError,
  type ClientAppResult,
} from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { clientDrivers } from './drivers.ts'
import { stepLog, stepRunner } from './steps.ts'

/** Migrations and seeders of a big app take a while; the command's deadline bounds them too. */
const APP_COMMAND_TIMEOUT_MS = COMMAND_DEADLINES_MS['client.app']

/**
 * client.app: one app operation of the profile. The argv comes from the profile by the action's name (never from
 * the wire as such), runs inside alfa-<slug> (ours by label) with its output streamed to the log under the
 * action's name; usersCount is the profile's SELECT on the client's database in a read-only transaction. A
 * non-zero exit fails as EXEC_FAILED "<action> failed: …" with the app's output tail.
 */
export const clientApp: CommandHandler<'client.app'> = async (ctx, deps) => {
  // Checked against its schema by the dispatcher already.
  const p = ctx.payload
  const run = stepRunner(ctx)
  // Steps are lower-case on the wire (demo-seed); the failure message names the action as the master sent it.
  const stepName = p.action.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
  const step = <R>(work: () => Promise<R>) => run(stepName, work, p.action)
  const log = stepLog(ctx, stepName)

  if (p.action === 'usersCount') {
    const db = dbAdminFor(p.dbEngine, deps)
    const usersCount = await step(() => db.count(dbNameForSlug(p.slug), p.profile.usersCountSql))
    log(`${usersCount} users in ${dbNameForSlug(p.slug)}`)
    const result: ClientAppResult = { exitCode: 0, usersCount }
    return result
  }

  let argv: readonly string[]
  let stdin: string | undefined
  if (p.action === 'setOwnerPassword') {
    if (p.ownerLogin === undefined || p.ownerPassword === undefined) {
      throw new CommandError(wireError('INVALID_PAYLOAD', 'setOwnerPassword needs ownerLogin and ownerPassword'))
    }
    // The login is validated to a narrow alphabet; the password goes on stdin only and is redacted everywhere.
    const login = p.ownerLogin
    argv = p.profile.setOwnerPassword.map((arg) => arg.replaceAll('{login}', login))
    stdin = p.ownerPassword
  } else {
    argv = p.profile[p.action]
  }

  const { containers } = clientDrivers(deps, ctx.signal)
  await step(async () => {
    log(`running ${p.action} in ${containerNameForSlug(p.slug)}`)
    await containers.exec(p.slug, argv, {
      ...(stdin === undefined ? {} : { stdin }),
      redact: p.ownerPassword === undefined ? [] : [p.ownerPassword],
      timeoutMs: APP_COMMAND_TIMEOUT_MS,
      signal: ctx.signal,
      onLine: (line, stream) => ctx.log(line, { step: stepName, stream }),
    })
  })
  log(`${p.action} finished`)
  const result: ClientAppResult = { exitCode: 0 }
  return result
}
