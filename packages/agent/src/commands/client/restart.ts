import { containerNameForSlug, type ClientRestartResult } from '@alfa/protocol'
import type { CommandHandler } from '../../command-context.ts'
import { clientDrivers } from './drivers.ts'
import { probeHealth, unhealthy } from './health.ts'
import { stepLog, stepRunner } from './steps.ts'

/**
 * client.restart: restart alfa-<slug> (ours by label), then probe its health path through nginx until it answers
 * 2xx or the health timeout passes. An app that does not come back fails the command ("health failed: …"), so the
 * master's operation shows failed rather than a success with healthy: false that nobody reads.
 */
export const clientRestart: CommandHandler<'client.restart'> = async (ctx, deps) => {
  // Checked against its schema by the dispatcher already.
  const p = ctx.payload
  const drivers = clientDrivers(deps, ctx.signal)
  const step = stepRunner(ctx)
  const name = containerNameForSlug(p.slug)

  const hostPort = await step('restart', async () => {
    const started = performance.now()
    // The published port comes from the ownership check before the restart (it does not change): the health probe
    // starts right after Docker's answer, as a script's would after `docker restart`.
    const port = await drivers.containers.restart(name)
    // The time Docker took, beside the step's: what bench/operations compares with a raw `docker restart`.
    const tookMs = Math.round(performance.now() - started)
    stepLog(ctx, 'restart')(`${name} restarted (Docker took ${tookMs} ms with the ownership check)`)
    return port
  })
  await step('health', async () => {
    const withinMs = deps.config.healthTimeoutMs
    const outcome = await probeHealth(drivers, deps.config, {
      ...p,
      healthPath: p.profile.healthPath,
      hostPort,
      via: 'nginx',
      withinMs,
      signal: ctx.signal,
    })
    if (!outcome.available) throw new Error(unhealthy(outcome, withinMs))
    stepLog(ctx, 'health')(`${outcome.how} answered ${outcome.statusCode} in ${outcome.latencyMs} ms`)
  })
  const result: ClientRestartResult = { healthy: true }
  return result
}
