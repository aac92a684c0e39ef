import { containerNameForSlug, dbNameForSlug } from '@alfa/protocol'
import { z } from 'zod'
import type { HandlerDeps, Narrator } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import type { SiteSpec } from '../../drivers/nginx-sites.ts'
import { clientDrivers } from './drivers.ts'
import { probeHealth, unhealthy } from './health.ts'
import { rollbackSteps } from './steps.ts'
import { thawWrites } from './switch-freeze.ts'
import { restoreFilesSnapshot } from './switch-files.ts'
import { rowCounts, type RowCounts } from '../../drivers/row-counts.ts'

/** Rollback gets its own time: it also runs when the command's deadline is what ended the switch. */
const ROLLBACK_TIMEOUT_MS = 15 * 60_000

/** What a switch has done so far, so a failure undoes exactly that; journaled at every change for recovery. */
export const switchStateSchema = z.object({
  slug: z.string(),
  domain: z.string(),
  healthPath: z.string(),
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
  /** Rows per table at the freeze: a restore must bring back at least these. */
  rowCounts: z.record(z.string(), z.number()).optional(),
})
export type SwitchState = z.infer<typeof switchStateSchema> & { site: SiteSpec }

/**
 * Undoes a failed switch: the new container goes first (so nothing writes after the restore), the site points back
 * at the old port, the database is restored from the snapshot, the old container is started (restarted when the
 * restore cut its connections). Each undo is tried even when another fails; every line says "rolled back: …" or
 * what could not be, and a final probe says whether the old version answers again.
 */
export async function rollbackSwitch(ctx: Narrator, deps: HandlerDeps, db: DbAdmin, state: SwitchState): Promise<void> {
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
    await attempt(`database ${dbNameForSlug(state.slug)} restored from the snapshot ${file}`, async () => {
      restartOld = (await db.restore(dbNameForSlug(state.slug), file, signal)).connectionsEnded
    })
    if (!(await restoreFilesSnapshot(d.files, attempt, state))) {
      // As with a short restore: the old version must not start on files the new one changed.
      log(
        `the client stays in maintenance, ${oldName} stopped: restore its files from ${state.files?.path} by hand`,
        'warn',
      )
      return
    }
    if (state.rowCounts && !(await restoreVerified(ctx, deps, db, state.rowCounts, state.slug))) {
      // Starting the old version on a database the restore did not bring back would serve (and write on) a
      // wrong state: the client stays in maintenance with the snapshot named, for an operator.
      log(`the client stays in maintenance, ${oldName} stopped: restore it from ${file} by hand`, 'warn')
      return
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
    hostPort: state.site.upstreamPort,
    via: 'nginx',
    withinMs,
    signal,
  })
  if (outcome.available) log(`rolled back: the old version answers again (${outcome.how}: ${outcome.statusCode})`)
  else log(`after the rollback ${unhealthy(outcome, withinMs)}`, 'warn')
}

/** After a restore: every table holds at least the rows it had at the freeze (nothing written before it is lost). */
async function restoreVerified(
  ctx: Narrator,
  deps: HandlerDeps,
  db: DbAdmin,
  before: RowCounts,
  slug: string,
): Promise<boolean> {
  const log = (line: string, level: 'info' | 'warn' = 'info') => ctx.log(line, { step: 'rollback', level })
  try {
    const after = await rowCounts(db.engine, deps.config, dbNameForSlug(slug))
    const short = Object.entries(before)
      .filter(([table, n]) => (after[table] ?? -1) < n)
      .map(([table, n]) => `${table}: ${n} → ${after[table] ?? 'absent'}`)
    if (short.length > 0) {
      log(`row counts after the restore are short of the freeze: ${short.join('; ')}`, 'warn')
      return false
    }
    const rows = Object.values(before).reduce((a, b) => a + b, 0)
    log(
      `rolled back: row counts verified (${Object.keys(before).length} tables, at least ${rows} rows as at the freeze)`,
    )
    return true
  } catch (error) {
    log(
      `row counts after the restore could not be read: ${error instanceof Error ? error.message : String(error)}`,
      'warn',
    )
    return false
  }
}
