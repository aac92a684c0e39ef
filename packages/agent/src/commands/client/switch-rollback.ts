import { containerNameForSlug, dbNameForSlug } from '@alfa/protocol'
import type { CommandContext, HandlerDeps } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import type { SiteSpec } from '../../drivers/nginx-sites.ts'
import { clientDrivers } from './drivers.ts'
import { probeHealth, unhealthy } from './health.ts'
import { rollbackSteps } from './steps.ts'

/** Rollback gets its own time: it also runs when the command's deadline is what ended the switch. */
const ROLLBACK_TIMEOUT_MS = 15 * 60_000

/** What a switch has done so far, so a failure undoes exactly that. */
export interface SwitchState {
  slug: string
  domain: string
  healthPath: string
  /** The site as it was before the switch (the old container's port). */
  site: SiteSpec
  /** The verified dump taken before anything changed. */
  snapshot: string | undefined
  /** The new container was started: it may have written to the database (migrations, the app itself). */
  newStarted: boolean
  siteSwitched?: boolean
  oldStopped?: boolean
  /** The old container is gone: from here on there is nothing to go back to. */
  oldRemoved?: boolean
}

/**
 * Undoes a failed switch: the new container goes first (so nothing writes after the restore), the site points back
 * at the old port, the database is restored from the snapshot, the old container is started (restarted when the
 * restore cut its connections). Each undo is tried even when another fails; every line says "rolled back: …" or
 * what could not be, and a final probe says whether the old version answers again.
 */
export async function rollbackSwitch(
  ctx: CommandContext<'client.switch'>,
  deps: HandlerDeps,
  db: DbAdmin,
  state: SwitchState,
): Promise<void> {
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
  }
  await attempt(
    `${oldName} ${restartOld ? 'restarted (the restore ended its database connections)' : 'running'}`,
    () => (restartOld ? d.containers.restart(oldName) : d.containers.start(oldName)),
  )
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
