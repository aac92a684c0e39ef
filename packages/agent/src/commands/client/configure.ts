import { dbNameForSlug, wireError, type ClientConfigureResult } from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { confirmServed } from './confirm-served.ts'
import { applyContainerLimits } from './container-limits.ts'
import { clientDrivers } from './drivers.ts'
import { stepLog, stepRunner } from './steps.ts'

/**
 * client.configure: the container's limits when asked (in place), the flag files nginx checks (maintenance / expiry
 * page served by nginx itself, so it holds with the app down), then the client's cloud_settings row for the app to
 * read. Idempotent: it sets a state rather than toggling, so a repeat (or a re-sent command after a partial run)
 * converges.
 */
export const clientConfigure: CommandHandler<'client.configure'> = async (ctx, deps) => {
  // Checked against its schema by the dispatcher already.
  const p = ctx.payload
  const { sites, containers, confirm } = clientDrivers(deps, ctx.signal)
  const db = dbAdminFor(p.dbEngine, deps)
  const step = stepRunner(ctx)

  // A container of this name serving another client means the slug is not this client's: change nothing.
  const existing = await containers.find(p.slug)
  if (existing && existing.clientId !== p.clientId) {
    throw new CommandError(
      wireError('CONFLICT', `${existing.name} belongs to another client (${existing.clientId ?? 'none'})`),
    )
  }

  let previousDomain: string | undefined
  if (p.domain) {
    const domain = p.domain
    await step('nginx', async () => {
      const current = await sites.current(p.slug)
      if (!current) throw new CommandError(wireError('NOT_FOUND', `no site for ${p.slug} to move to ${domain}`))
      previousDomain = current.domain
      // apply() tests the new file with nginx -t and puts the previous one back if nginx refuses it.
      await sites.apply({ ...current, domain })
      stepLog(ctx, 'nginx')(`site of ${p.slug} rewritten for ${domain}`)
    })
  }
  let limits: ClientConfigureResult['limits']
  if (p.limits) {
    const wanted = {
      memoryMb: p.limits.memoryMb ?? deps.config.containerMemoryMb,
      cpus: p.limits.cpus ?? deps.config.containerCpus,
    }
    await step('limits', async () => {
      if (!existing) throw new CommandError(wireError('NOT_FOUND', `no container for ${p.slug} to set limits on`))
      await applyContainerLimits(deps.docker, existing.id, wanted)
      limits = wanted
      stepLog(ctx, 'limits')(`limits of ${existing.name}: ${wanted.memoryMb} MB, ${wanted.cpus} CPUs (no restart)`)
    })
  }
  const flags = { maintenance: p.settings.maintenance, expired: p.expired }
  // Flags first: the page is what visitors see, and it must take effect even when the database is what is down.
  await step('flags', async () => {
    await sites.setFlags(p.slug, flags) // writes the default pages first when a flag goes on
    stepLog(ctx, 'flags')(`flags of ${p.slug}: maintenance ${flags.maintenance}, expired ${flags.expired}`)
  })
  await step('settings', async () => {
    await db.writeSettings(dbNameForSlug(p.slug), p.settings)
    const s = p.settings
    stepLog(
      ctx,
      'settings',
    )(
      `cloud_settings written (maintenance ${s.maintenance}, expire_date ${s.expireDate ?? 'none'}, turbostart ${s.turbostart}, tutorial ${s.tutorial}, version ${s.version ?? 'none'})`,
    )
  })
  // Last, so that what a visitor sees and what the app reads (cloud_settings) change together, as they did before.
  await step('confirm', () => confirmServed(ctx, sites, confirm, p.slug, flags, previousDomain))
  const result: ClientConfigureResult = { ...flags, ...(limits ? { limits } : {}) }
  return result
}
