import { containerNameForSlug, LARAVEL_PROFILE, type ClientProbeResult } from '@alfa/protocol'
import type { CommandHandler } from '../../command-context.ts'
import { probeTarget, probeThroughNginx } from '../../drivers/probe.ts'
import { clientDrivers } from './drivers.ts'
import { probeHealth } from './health.ts'

/** A periodic probe retries only briefly: long enough to ride out an nginx reload, short enough to stay cheap. */
const PROBE_WINDOW_MS = 3000

/** client.probe: GET the client's health path through the local nginx with its Host header. */
export const clientProbe: CommandHandler<'client.probe'> = async (ctx, deps) => {
  // Checked against its schema by the dispatcher already.
  const p = ctx.payload
  const healthPath = p.healthPath ?? LARAVEL_PROFILE.healthPath
  const checkedAt = deps.now()
  const outcome = p.app
    ? await appHealth()
    : await probeThroughNginx(probeTarget(deps.config.nginxListen), p.domain, healthPath, {
        withinMs: PROBE_WINDOW_MS,
        signal: ctx.signal,
      })
  ctx.log(`http://${p.domain}${healthPath}: ${outcome.statusCode ?? 'no answer'} in ${outcome.latencyMs} ms`, {
    step: 'probe',
  })
  const result: ClientProbeResult = { ...outcome, checkedAt }
  return result

  /** As a reboot's health step: through nginx, or on the container's port while nginx serves a page for it. */
  async function appHealth() {
    const drivers = clientDrivers(deps, ctx.signal)
    const hostPort = await drivers.containers.hostPort(containerNameForSlug(p.slug))
    const withinMs = deps.config.healthTimeoutMs
    const o = await probeHealth(drivers, deps.config, {
      ...p,
      healthPath,
      hostPort,
      via: 'nginx',
      withinMs,
      signal: ctx.signal,
    })
    ctx.log(`the app's health: ${o.how}`, { step: 'probe' })
    return { available: o.available, statusCode: o.statusCode, latencyMs: o.latencyMs }
  }
}
