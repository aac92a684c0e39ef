import { wireError } from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { renderForward } from '../../drivers/forward-site.ts'
import { probeTarget, probeUntil, type SiteAnswer } from '../../drivers/probe.ts'
import { clientDrivers } from './drivers.ts'

/**
 * client.forward: after a move, the client's site file on the old server becomes a proxy to the new server, so
 * visitors whose DNS still points here reach the moved client. Tested by nginx before the reload; confirmed by a
 * request through this nginx with the client's Host header that the new server answers. The file carries its end
 * (`until`); the agent's forward expiry (forward-expiry.ts) removes it at or after that time, across restarts.
 */
export const clientForward: CommandHandler<'client.forward'> = async (ctx, deps) => {
  const p = ctx.payload
  const { config } = deps
  const { sites } = clientDrivers(deps, ctx.signal)
  // Tested by nginx before the reload (the previous file is put back on a refusal), under the sites lock.
  const file = await sites.putRendered(p.slug, renderForward(config.nginxListen, p))
  // The client's site on the new server answers: its app, or the maintenance or expiry page the new server's nginx
  // serves for it (a 503 or 403 then, and no failure of the forward).
  const reached = (a: SiteAnswer) =>
    a.statusCode !== null && a.site === p.slug && (a.statusCode < 500 || a.page !== null)
  const answer = await probeUntil(probeTarget(config.nginxListen), p.domain, '/', {
    withinMs: 15_000,
    signal: ctx.signal,
    stable: 2,
    accept: reached,
  })
  if (!reached(answer))
    throw new CommandError(
      wireError('NGINX_ERROR', `the forward of ${p.domain} does not reach the new server (${answer.statusCode})`),
    )
  ctx.log(`${p.domain} forwarded to ${p.targetHost}:${p.targetPort} until ${new Date(p.until).toISOString()}`)
  return { site: file }
}
