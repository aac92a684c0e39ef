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

/** One GET through nginx with the client's Host header, as a visitor's browser would arrive. */
function getOnce(
  target: { host: string; port: number },
  domain: string,
  urlPath: string,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  return new Promise((resolve) => {
    const request = http.get(
      { host: target.host, port: target.port, path: urlPath, headers: { host: domain }, timeout: timeoutMs },
      (response) => {
        const statusCode = response.statusCode ?? null
        // The body is not needed, only the status; drain it so the socket is released.
        response.resume()
        response.on('end', () =>
          resolve({
            available: statusCode !== null && statusCode >= 200 && statusCode < 300,
            statusCode,
            latencyMs: latency(),
          }),
        )
        response.on('error', () => resolve({ available: false, statusCode, latencyMs: latency() }))
      },
    )
    request.on('timeout', () => request.destroy(new Error('timeout')))
    request.on('error', () => resolve({ available: false, statusCode: null, latencyMs: latency() }))
  })
}

/**
 * Probes until a 2xx or `withinMs` passes (nginx reloads asynchronously and an app needs a moment to listen), and
 * reports the last attempt.
 */
export async function probeThroughNginx(
  target: { host: string; port: number },
  domain: string,
  urlPath: string,
  o: { withinMs: number; signal?: AbortSignal; onAttempt?: (outcome: ProbeOutcome) => void },
): Promise<ProbeOutcome> {
  const deadline = Date.now() + o.withinMs
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const outcome = await getOnce(target, domain, urlPath, Math.max(1000, Math.min(10_000, deadline - Date.now())))
    o.onAttempt?.(outcome)
    if (outcome.available || Date.now() + delay > deadline || o.signal?.aborted) return outcome
    await sleep(delay, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined)
  }
}
