import { containerNameForSlug, wireError, type ClientSwitchPayload } from '@alfa/protocol'
import { CommandError, type CommandContext } from '../../command-context.ts'
import type { SiteSpec } from '../../drivers/nginx-sites.ts'
import type { ClientDrivers } from './drivers.ts'

/**
 * Checks before a switch changes anything: the client's container is ours and this client's, its site exists (read
 * back so it can be pointed back), and what an interrupted earlier switch left is dealt with: a `-next` container
 * that never served is removed; one that serves while the old one is gone is renamed into place (the earlier run
 * got that far); one that serves while the old one still exists is a state we do not guess about.
 */
export async function switchPreflight(
  ctx: CommandContext<'client.switch'>,
  d: ClientDrivers,
  p: ClientSwitchPayload,
): Promise<SiteSpec> {
  const log = (line: string) => ctx.log(line, { step: 'check' })
  const oldName = containerNameForSlug(p.slug)
  const nextName = `${oldName}-next`
  const site = await d.sites.current(p.slug, p.domain)
  if (!site) throw new CommandError(wireError('NOT_FOUND', `client ${p.slug} has no site (${d.sites.fileOf(p.slug)})`))
  const next = await d.containers.details(nextName)
  if (next && next.clientId !== p.clientId)
    throw new CommandError(wireError('CONFLICT', `${nextName} belongs to another client (${next.clientId ?? 'none'})`))
  if (next && next.hostPort === site.upstreamPort) {
    if (await d.containers.findNamed(oldName)) {
      throw new CommandError(
        wireError(
          'CONFLICT',
          `an interrupted switch left the site on ${nextName} while ${oldName} still exists; check which version the database has, then remove one of them`,
        ),
      )
    }
    await d.containers.rename(nextName, oldName)
    log(`finished an interrupted switch: ${nextName} (serving the site) renamed to ${oldName}`)
  } else if (next) {
    await d.containers.removeNamed(nextName)
    log(`removed ${nextName} left by an interrupted switch (it never served the site)`)
  }
  const old = await d.containers.findNamed(oldName)
  if (!old) throw new CommandError(wireError('NOT_FOUND', `container ${oldName} does not exist`))
  if (old.clientId !== p.clientId)
    throw new CommandError(wireError('CONFLICT', `${oldName} belongs to another client (${old.clientId ?? 'none'})`))
  log(`${oldName} (${old.running ? 'running' : 'stopped'}) serves the site on port ${site.upstreamPort}`)
  return site
}
