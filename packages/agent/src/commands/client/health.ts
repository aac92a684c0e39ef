import type { AgentConfig } from '../../config.ts'
import { probeTarget, probeThroughNginx, type ProbeOutcome } from '../../drivers/probe.ts'
import type { ClientDrivers } from './drivers.ts'

export interface HealthCheck {
  slug: string
  domain: string
  healthPath: string
  /** The container's published port, for a direct probe. */
  hostPort: number | undefined
  /** `nginx`: as a visitor arrives; `direct`: the container's port, bypassing the site. */
  via: 'nginx' | 'direct'
  withinMs: number
  signal: AbortSignal
}

/**
 * Probes the app's health path until 2xx or the time is up, and says how it probed. Through nginx, unless asked
 * for direct or nginx serves the maintenance / expiry page for this client (its 503/403 would hide the app's
 * state): then directly on the container's published port with the same Host header.
 */
export async function probeHealth(
  d: ClientDrivers,
  config: Pick<AgentConfig, 'containerBind'>,
  h: HealthCheck,
): Promise<ProbeOutcome & { how: string }> {
  const flags = await d.sites.flags(h.slug)
  const flagged = flags.maintenance || flags.expired
  const direct = h.via === 'direct' || flagged
  if (direct && h.hostPort === undefined)
    return { available: false, statusCode: null, latencyMs: 0, how: 'no published port to probe' }
  const target = direct
    ? probeTarget(
        `${config.containerBind.includes(':') ? `[${config.containerBind}]` : config.containerBind}:${h.hostPort}`,
      )
    : d.probeTarget
  const outcome = await probeThroughNginx(target, h.domain, h.healthPath, { withinMs: h.withinMs, signal: h.signal })
  const where = `http://${h.domain}${h.healthPath}`
  const how = !direct
    ? `${where} through nginx`
    : `${where} on ${target.host}:${target.port}${flagged && h.via === 'nginx' ? ' (directly: nginx serves the maintenance/expiry page)' : ''}`
  return { ...outcome, how }
}

/** The failure message of an unhealthy probe. */
export const unhealthy = (o: ProbeOutcome & { how: string }, withinMs: number): string =>
  `${o.how} did not answer 2xx within ${withinMs} ms (last status ${o.statusCode ?? 'none'})`
