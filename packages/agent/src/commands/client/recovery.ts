import {
  ClientSettings,
  containerNameForSlug,
  dbEngineSchema,
  dbNameForSlug,
  slugSchema,
  wireError,
  type ClientDeleteResult,
  type ClientSwitchResult,
  type CommandType,
} from '@alfa/protocol'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { HandlerDeps, Narrator } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { removeInside } from '../../drivers/safe-files.ts'
import type { JournalEntry, JournalResult } from '../../journal.ts'
import { clientDrivers } from './drivers.ts'
import { rollbackSteps } from './steps.ts'
import { rollbackSwitch, switchStateSchema } from './switch-rollback.ts'
import { MOVE_FILE_NAME } from '../../transfer/move-files.ts'

/** Recovery has its own time: it runs at start-up, before the agent takes new commands. */
const RECOVERY_TIMEOUT_MS = 10 * 60_000

/**
 * The command types recoverCommand finishes or rolls back from their step records. Only these journal their
 * checkpoints (an fsync of the journal entry, ~15 ms here, twice per step): for any other type a step record would
 * change nothing after a restart (it ends INTERRUPTED either way), so writing it only slowed every action down.
 * A type given a recovery below must be listed here.
 */
const RECOVERED: ReadonlySet<CommandType> = new Set([
  'client.create',
  'client.delete',
  'client.switch',
  'transfer.send',
])

/** True when a restart recovers `type` from its checkpoints (so they must be on disk before a step acts). */
export const recoversFromCheckpoints = (type: CommandType): boolean => RECOVERED.has(type)

/** What every multi-step client command journals first (no secret: never the payload itself). */
const baseRecord = z.object({ slug: slugSchema, dbEngine: dbEngineSchema, step: z.string().optional() })

const createRecord = baseRecord.extend({
  dbCreatedByRun: z.boolean().optional(),
  /** The client id, when the run found no data volume of the client and made them. */
  volumesCreatedByRun: z.string().optional(),
})
const CREATE_STEPS = ['database', 'container', 'nginx', 'tls', 'settings', 'migrate', 'owner', 'health']

const deleteRecord = baseRecord.extend({
  clientId: z.string().optional(),
  dumpName: z.string().optional(),
  dumpPath: z.string().nullable().optional(),
  /** The files archive beside the dump: its name while it is written, its path once verified (null: no volume). */
  filesName: z.string().optional(),
  filesPath: z.string().nullable().optional(),
})

const switchRecord = baseRecord.extend({
  switch: switchStateSchema,
  image: z.string(),
  version: z.string().nullable(),
  settings: ClientSettings,
})

/** A send journals the dump or files archive it writes into the backup dir (a name transfer.send made). */
const sendRecord = z.object({
  step: z.string().optional(),
  writing: z.string().regex(MOVE_FILE_NAME).optional(),
})

const interrupted = (what: string): JournalResult => ({
  ok: false,
  error: wireError('INTERRUPTED', `the agent restarted during this command: ${what}`),
})

/**
 * Ends a multi-step client command a killed agent left half-done, from what it journaled: a create is rolled back,
 * a delete with a verified dump is finished (without one nothing was dropped), a switch is finished when the old
 * container is already gone and rolled back otherwise, a send's unfinished dump or archive is removed. Returns the
 * command's result; undefined for other commands.
 */
export async function recoverCommand(
  entry: JournalEntry,
  narrator: Narrator,
  deps: HandlerDeps,
  logger: Logger,
): Promise<JournalResult | undefined> {
  if (!entry.recovery) return undefined
  const signal = AbortSignal.timeout(RECOVERY_TIMEOUT_MS)
  const d = clientDrivers(deps, signal)
  const { log, attempt } = rollbackSteps(narrator)
  const undone: string[] = []
  const undo = async (what: string, work: () => Promise<unknown>) => {
    await attempt(what, work)
    undone.push(what)
  }
  logger.warn({ record: entry.recovery }, 'recovering a command the previous agent process left running')

  if (entry.type === 'client.create') {
    const r = createRecord.parse(entry.recovery)
    const reached = CREATE_STEPS.indexOf(r.step ?? '')
    log(`the agent restarted during the create (step ${r.step ?? 'none'}): rolling back`, 'warn')
    if (reached >= 1) await undo(`container ${containerNameForSlug(r.slug)} removed`, () => d.containers.remove(r.slug))
    const clientId = r.volumesCreatedByRun
    if (clientId) await undo('data volumes removed', () => d.files.remove({ slug: r.slug, clientId }))
    if (reached >= 2) await undo('site removed, nginx reloaded', () => d.sites.remove(r.slug))
    if (r.dbCreatedByRun) {
      const db = dbAdminFor(r.dbEngine, deps)
      await undo(`database and user ${dbNameForSlug(r.slug)} dropped`, () => db.drop(dbNameForSlug(r.slug)))
    }
    return interrupted(`step ${r.step ?? 'none'}; rolled back: ${undone.join('; ') || 'nothing was made'}`)
  }

  if (entry.type === 'client.delete') {
    const r = deleteRecord.parse(entry.recovery)
    if (r.dumpPath === undefined) {
      // No verified dump: nothing was dropped; a dump file it was writing is incomplete and goes.
      if (r.dumpName)
        await undo(`incomplete dump ${r.dumpName} removed`, () => removeInside(deps.config.backupDir, r.dumpName!))
      if (r.filesName)
        await undo(`incomplete files archive ${r.filesName} removed`, () =>
          removeInside(deps.config.backupDir, r.filesName!),
        )
      return interrupted(`during the dump; nothing was removed${undone.length ? ` (${undone.join('; ')})` : ''}`)
    }
    log(`the agent restarted during the delete (step ${r.step ?? 'none'}); the dump is verified: finishing`, 'warn')
    const db = dbAdminFor(r.dbEngine, deps)
    const removed = { container: false, site: false, database: false }
    removed.container = await d.containers.remove(r.slug)
    // The files archive was verified with the dump (dumpPath is journaled after both): the volumes may go.
    const volumes = r.clientId ? await d.files.remove({ slug: r.slug, clientId: r.clientId }) : []
    removed.site = await d.sites.remove(r.slug)
    const before = await db.drop(dbNameForSlug(r.slug))
    removed.database = before.database || before.user
    log(`finished after the restart: container, site and database ${dbNameForSlug(r.slug)} removed`)
    const result: ClientDeleteResult = { dumpPath: r.dumpPath, removed: { ...removed, volumes: volumes.length > 0 } }
    return { ok: true, data: result }
  }

  if (entry.type === 'client.switch') {
    const r = switchRecord.parse(entry.recovery)
    const oldName = containerNameForSlug(r.slug)
    const nextName = `${oldName}-next`
    const [old, next] = await Promise.all([d.containers.findNamed(oldName), d.containers.details(nextName)])
    if (next && r.switch.siteSwitched && (!old || !r.switch.frozen)) {
      // Past the site switch with writes thawed (or the old container already gone): the new version serves and
      // has taken writes a restore would lose. Finish: settings, old container removed, -next renamed.
      log(`the agent restarted during the switch (step ${r.step ?? 'none'}), after the site switch: finishing`, 'warn')
      await dbAdminFor(r.dbEngine, deps).writeSettings(dbNameForSlug(r.slug), r.settings)
      if (old) await d.containers.removeNamed(oldName)
      await d.containers.rename(nextName, oldName)
      log(`finished after the restart: ${nextName} renamed to ${oldName}, the client runs ${r.image}`)
      const result: ClientSwitchResult = { containerId: next.id, image: r.image, version: r.version }
      return { ok: true, data: result }
    }
    log(`the agent restarted during the switch (step ${r.step ?? 'none'}): rolling back`, 'warn')
    // -next may exist even if the journal did not get to say so (killed inside its start): removed in any case.
    if (next) await undo(`${nextName} removed`, () => d.containers.removeNamed(nextName))
    const outcome = await rollbackSwitch(narrator, deps, dbAdminFor(r.dbEngine, deps), r.switch)
    if (!outcome.ok)
      return interrupted(`step ${r.step ?? 'none'}; rollback stopped at ${outcome.step}: ${outcome.message}`)
    return interrupted(
      `step ${r.step ?? 'none'}; rolled back to the old version${undone.length ? ` (${undone.join('; ')})` : ''}`,
    )
  }

  if (entry.type === 'transfer.send') {
    // The transfer broke off with the agent (the master retries it as a new one or undoes the move): the dump or
    // archive it was writing is cut short somewhere and must not lie in the backup dir looking like a whole one.
    const r = sendRecord.parse(entry.recovery)
    if (r.writing) await undo(`incomplete ${r.writing} removed`, () => removeInside(deps.config.backupDir, r.writing!))
    return interrupted(`while sending${undone.length ? ` (${undone.join('; ')})` : ''}`)
  }
  return undefined
}
