import { containerNameForSlug, dbNameForSlug } from '@alfa/protocol'
import { z } from 'zod'
import type { HandlerDeps, Narrator } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import type { SiteSpec } from '../../drivers/nginx-sites.ts'
import { clientDrivers } from './drivers.ts'
import { probeHealth, unhealthy } from './health.ts'
import { rollbackSteps } from './steps.ts'
import { restoreFilesSnapshot } from './switch-files.ts'
import { thawWrites } from './switch-freeze.ts'
import { RestoreFailure, type RestoreStep } from '../../drivers/database-restore.ts'

/** Rollback gets its own time: it also runs when the command's deadline is what ended the switch. */
const ROLLBACK_TIMEOUT_MS = 15 * 60_000

/** What a switch has done so far, so a failure undoes exactly that; journaled at every change for recovery. */
export const switchStateSchema = z.object({
  slug: z.string(),
  domain: z.string(),
  /** The new image's health path (the new container's probes). */
  healthPath: z.string(),
  /** The health path of the version a rollback brings back, when the master sent it (else healthPath). */
  rollbackHealthPath: z.string().optional(),
  /** The site as it was before the switch (the old container's port). */
  site: z.object({ slug: z.string(), domain: z.string(), upstreamPort: z.int(), tls: z.boolean() }),
  /** The verified dump taken before anything changed. */
  snapshot: z.string().optional(),
  /** The client's id (its data volumes carry it as a label). */
  clientId: z.string().optional(),
  /** The verified archive of the client's files taken with the snapshot, and its figures. */
  files: z
    .object({ path: z.string(), sha256: z.string(), entries: z.int(), files: z.int(), fileBytes: z.int() })
    .optional(),
  /** The new container was started: it may have written to the database (migrations, the app itself). */
  newStarted: z.boolean(),
  siteSwitched: z.boolean().optional(),
  oldStopped: z.boolean().optional(),
  /** The old container is gone: from here on there is nothing to go back to. */
  oldRemoved: z.boolean().optional(),
  /** Writes are frozen (flags as they were before, and since when): a rollback thaws them. */
  frozen: z.object({ flags: z.object({ maintenance: z.boolean(), expired: z.boolean() }), at: z.number() }).optional(),
  /** Rows per table at the freeze, and again once the snapshot was written: a restore must lie between them
   * (they are equal when nothing wrote during the dump, as the freeze ensures). */
  rowCounts: z.record(z.string(), z.number()).optional(),
  rowCountsAfter: z.record(z.string(), z.number()).optional(),
})
export type SwitchState = z.infer<typeof switchStateSchema> & { site: SiteSpec }

/** How a rollback ended: done, or stopped at a step with the client left in maintenance (the old version stopped). */
export type RollbackOutcome = { ok: true } | { ok: false; step: string; message: string }

/**
 * Undoes a failed switch: the new container goes first (so nothing writes after the restore), the site points back
 * at the old port, the snapshot is restored into a fresh database, verified and swapped in (the live database is
 * untouched until then), the old container is started (restarted when the swap cut its connections). Each undo is
 * tried even when another fails; every line says "rolled back: …" or what could not be. A restore that fails stops
 * the rollback with the client in maintenance and the old version stopped: it never starts on wrong or empty data.
 * `journal` records each restore step before it runs (a kill there is redone at start-up).
 */
export async function rollbackSwitch(
  ctx: Narrator,
  deps: HandlerDeps,
  db: DbAdmin,
  state: SwitchState,
  journal: (step: RestoreStep) => Promise<void> = async () => undefined,
): Promise<RollbackOutcome> {
  const signal = AbortSignal.timeout(ROLLBACK_TIMEOUT_MS)
  const d = clientDrivers(deps, signal)
  const { log, attempt } = rollbackSteps(ctx)
  const oldName = containerNameForSlug(state.slug)
  const nextName = `${oldName}-next`

  if (state.newStarted) await attempt(`${nextName} removed`, () => d.containers.removeNamed(nextName))
  if (state.siteSwitched) {
    await attempt(`site points at ${oldName} again (port ${state.site.upstreamPort}), nginx reloaded`, () =>
      d.sites.apply(state.site),
    )
  }
  let restartOld = false
  if (state.newStarted && state.snapshot !== undefined) {
    const file = state.snapshot
    const dbName = dbNameForSlug(state.slug)
    try {
      const outcome = await db.restore(dbName, file, {
        signal,
        onStep: journal,
        now: deps.now,
        ...(state.rowCounts
          ? { expected: { min: state.rowCounts, max: state.rowCountsAfter ?? state.rowCounts } }
          : {}),
      })
      restartOld = outcome.connectionsEnded
      const rows = Object.values(outcome.counts).reduce((a, b) => a + b, 0)
      log(
        `rolled back: database ${dbName} restored from the snapshot ${file} into a fresh database, row counts ` +
          `verified against the snapshot (${Object.keys(outcome.counts).length} tables, ${rows} rows), swapped in`,
      )
      if (outcome.extra.length > 0)
        log(`more than the snapshot held (written while it loaded): ${outcome.extra.join('; ')}`, 'warn')
      if (outcome.leftover.length > 0) log(`set-aside databases not dropped: ${outcome.leftover.join(', ')}`, 'warn')
    } catch (error) {
      const step = error instanceof RestoreFailure ? error.step : 'restore'
      const why = error instanceof Error ? error.message : String(error)
      // Starting the old version on a database the restore did not bring back would serve (and write on) a
      // wrong state: the client stays in maintenance with the snapshot named, for an operator.
      const message = `${why}; ${step === 'restore-swap' ? `${dbName} holds either all its own tables or all the restored ones (views, triggers, routines may be missing)` : `${dbName} was left as it was`}, the client stays in maintenance with ${oldName} stopped: restore it from ${file}`
      log(message, 'warn')
      return { ok: false, step, message }
    }
    if (!(await restoreFilesSnapshot(d.files, attempt, state))) {
      // As with a short restore: the old version must not start on files the new one changed.
      const message = `the client stays in maintenance, ${oldName} stopped: restore its files from ${state.files?.path}`
      log(message, 'warn')
      return { ok: false, step: 'restore-files', message }
    }
  }
  await attempt(
    `${oldName} ${restartOld ? 'restarted (the restore ended its database connections)' : 'running'}`,
    () => (restartOld ? d.containers.restart(oldName) : d.containers.start(oldName)),
  )
  if (state.frozen) {
    const frozen = state.frozen
    let ms: number | undefined
    await attempt('writes unfrozen, flags as before the switch', async () => {
      ms = await thawWrites(d, state.slug, frozen, deps.now)
    })
    if (ms !== undefined) log(`rolled back: writes were frozen for ${ms} ms`)
  }
  const withinMs = deps.config.healthTimeoutMs
  const outcome = await probeHealth(d, deps.config, {
    ...state,
    // The old version answers on its own image's path: the new image's may not exist in it (another profile).
    healthPath: state.rollbackHealthPath ?? state.healthPath,
    hostPort: state.site.upstreamPort,
    via: 'nginx',
    withinMs,
    signal,
  })
  if (outcome.available) log(`rolled back: the old version answers again (${outcome.how}: ${outcome.statusCode})`)
  else log(`after the rollback ${unhealthy(outcome, withinMs)}`, 'warn')
  return { ok: true }
}
