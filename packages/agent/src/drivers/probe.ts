import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

export interface ProbeOutcome {
  available: boolean
  statusCode: number | null
  latencyMs: number
}

/** Where the local nginx answers, from the `listen` value: a wildcard or bare port is reached over loopback. */
export function probeTarget(listen: string): { host: string; port: number } {
  const match = /^(?:(.*):)?(\d+)$/.exec(listen)
  const address = match?.[1]
  const port = Number(match?.[2] ?? 80)
  if (address === undefined || address === '*' || address === '0.0.0.0') return { host: '127.0.0.1', port }
  if (address === '[::]') return { host: '::1', port }
  return { host: address.replace(/^\[|\]$/g, ''), port }
}

/**
 * Headers the agent's vhosts add to every answer (nginx-sites.ts): which client's site answered, and which of the
 * pages nginx serves by itself it was. They tell the app's own 503 from nginx's maintenance page, and a client's
 * site from a default server that answers any Host.
 */
export const SITE_HEADER = 'x-alfa-site'
export const PAGE_HEADER = 'x-alfa-page'

/** One answer as a visitor saw it, with the vhost's marks (null when absent). */
export interface SiteAnswer extends ProbeOutcome {
  /** X-Alfa-Site: the slug of the site that answered. */
  site: string | null
  /** X-Alfa-Page: `maintenance`, `expired` or `unavailable` (the app did not answer) when nginx served that page. */
  page: string | null
}

const header = (value: string | string[] | undefined): string | null =>
  typeof value === 'string' ? value : (value?.[0] ?? null)

/** One GET through nginx with the client's Host header, as a visitor's browser would arrive. */
function getOnce(
  target: { host: string; port: number },
  domain: string,
  urlPath: string,
  timeoutMs: number,
): Promise<SiteAnswer> {
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  const none = { site: null, page: null }
  return new Promise((resolve) => {
    const request = http.get(
      // No keep-alive: a kept connection stays with the worker that accepted it, which after a reload may be an old
      // worker still serving the previous configuration.
      {
        host: target.host,
        port: target.port,
        path: urlPath,
        headers: { host: domain },
        timeout: timeoutMs,
        agent: false,
      },
      (response) => {
        const statusCode = response.statusCode ?? null
        const marks = { site: header(response.headers[SITE_HEADER]), page: header(response.headers[PAGE_HEADER]) }
        // The body is not needed, only the status; drain it so the socket is released.
        response.resume()
        response.on('end', () =>
          resolve({
            available: statusCode !== null && statusCode >= 200 && statusCode < 300,
            statusCode,
            latencyMs: latency(),
            ...marks,
          }),
        )
        response.on('error', () => resolve({ available: false, statusCode, latencyMs: latency(), ...marks }))
      },
    )
    request.on('timeout', () => request.destroy(new Error('timeout')))
    request.on('error', () => resolve({ available: false, statusCode: null, latencyMs: latency(), ...none }))
  })
}

/** How long probes follow each other closely before they slow down. */
const FAST_PROBING_MS = 5_000
/**
 * The pause between two probes meanwhile: a careful script's cadence after `docker restart` (bench/operations' raw
 * side polls every 20 ms), so an action waits no longer than it for an app that has come back. One GET through nginx
 * costs about a millisecond: a few per cent of a core while a restarted app boots.
 */
const FAST_PROBE_GAP_MS = 20
/** The pause once the first seconds are over: the probe's own cadence must not add to what it waits for. */
const SLOW_PROBE_GAP_MS = 250

/**
 * GETs until `accept` holds for an answer or `withinMs` passes (nginx reloads asynchronously: an old worker may
 * answer from the previous configuration for a moment), and returns the last answer. With `stable`, an accepted
 * answer counts only once that many more fresh connections in a row agree: after a reload an old worker may still
 * take the next connection, so one good answer is not yet the effect a visitor sees.
 */
export async function probeUntil(
  target: { host: string; port: number },
  domain: string,
  urlPath: string,
  o: { withinMs: number; accept: (answer: SiteAnswer) => boolean; signal?: AbortSignal; stable?: number },
): Promise<SiteAnswer> {
  const deadline = Date.now() + o.withinMs
  const wait = (ms: number) => sleep(ms, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined)
  const get = () => getOnce(target, domain, urlPath, Math.max(1000, Math.min(10_000, deadline - Date.now())))
  // Close together for the first seconds (a restarted app or a reload is usually there within them), then apart.
  const started = Date.now()
  for (;;) {
    const delay = Date.now() - started < FAST_PROBING_MS ? FAST_PROBE_GAP_MS : SLOW_PROBE_GAP_MS
    let answer = await get()
    for (let agreed = 0; o.accept(answer) && agreed < (o.stable ?? 0); agreed++) {
      await wait(50)
      const next = await get()
      if (!o.accept(next)) answer = next
    }
    if (o.accept(answer) || Date.now() + delay > deadline || o.signal?.aborted) return answer
    await wait(delay)
  }
}

/**
 * Probes until a 2xx or `withinMs` passes (nginx reloads asynchronously and an app needs a moment to listen), and
 * reports the last attempt.
 */
export async function probeThroughNginx(
  target: { host: string; port: number },
  domain: string,
  urlPath: string,
  o: { withinMs: number; signal?: AbortSignal },
): Promise<ProbeOutcome> {
  const { available, statusCode, latencyMs } = await probeUntil(target, domain, urlPath, {
    ...o,
    accept: (answer) => answer.available,
  })
  return { available, statusCode, latencyMs }
}
