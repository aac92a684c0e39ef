import { describeAnswer, type SiteExpectation } from '../../drivers/confirm-site.ts'
import type { CommandContext } from '../../command-context.ts'
import type { ClientDrivers } from './drivers.ts'
import { stepLog } from './steps.ts'

/**
 * The confirm step of client.configure: asks the local nginx, with the client's Host header, for what visitors get
 * now (the maintenance page, the expiry page or the app; after a domain change the new name answers and the old one
 * no longer reaches the client) and throws with what was seen otherwise. A site an older agent wrote is rewritten
 * first, since confirming needs the marks this agent renders.
 */
export async function confirmServed(
  ctx: CommandContext<'client.configure'>,
  sites: ClientDrivers['sites'],
  confirm: ClientDrivers['confirm'],
  slug: string,
  flags: { maintenance: boolean; expired: boolean },
  previousDomain: string | undefined,
): Promise<void> {
  const log = stepLog(ctx, 'confirm')
  const refreshed = await sites.refresh(slug)
  if (refreshed) log(`site of ${slug} rewritten in this agent's format (nginx -t passed, reloaded)`)
  const site = await sites.current(slug)
  if (!site) {
    log(`${slug} has no site on this server: nothing for nginx to serve`, 'warn')
    return
  }
  const expected: SiteExpectation = flags.maintenance ? 'maintenance' : flags.expired ? 'expired' : 'app'
  // Flags alone need no reload; a rewritten site (new format or domain) does, and then old workers may linger.
  const answer = await confirm(site, expected, { afterReload: refreshed || previousDomain !== undefined })
  log(`http://${site.domain}/ through nginx answers ${describeAnswer(answer, slug)}`)
  if (previousDomain !== undefined && previousDomain !== site.domain) {
    const old = await confirm({ slug, domain: previousDomain }, 'gone')
    log(`http://${previousDomain}/ no longer reaches ${slug} (${describeAnswer(old, slug)})`)
  }
}

/** After a delete: the client's domain no longer reaches its site through the local nginx. */
export async function confirmGone(
  ctx: CommandContext<'client.delete'>,
  confirm: ClientDrivers['confirm'],
  site: { slug: string; domain: string },
): Promise<void> {
  const answer = await confirm(site, 'gone')
  stepLog(ctx, 'nginx')(`http://${site.domain}/ no longer reaches ${site.slug} (${describeAnswer(answer, site.slug)})`)
}
