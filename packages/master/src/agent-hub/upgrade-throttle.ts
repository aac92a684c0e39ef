import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { TooManyRequests } from '../errors.ts'
import { createLoginThrottle } from '../auth/login-throttle.ts'
import {
  parseTrustedProxies,
  resolveClientAddress,
  throttleKeyOf,
  type TrustedProxies,
} from '../http/client-address.ts'
import { AgentAuthRefused } from './agent-credentials.ts'

export interface UpgradeThrottleOptions {
  /** Failed upgrades allowed per address in the window; past it each further one waits a doubling delay. */
  maxFailures?: number
  windowMs?: number
  maxLockMs?: number
  /**
   * Upgrades of one address checked at the same time while it has no failures: many agents may share one NAT
   * address and all reconnect after a master restart. Each failure shrinks it.
   */
  maxParallel?: number
  /** Addresses remembered at most. */
  maxKeys?: number
  /** Proxies whose X-Forwarded-For names the agent's address. */
  trustedProxies?: TrustedProxies
}

/**
 * Failed /agent upgrades throttled per address before the credential is looked up, so forged upgrades cannot turn
 * into one database query each. A refused upgrade gets 429 with Retry-After (the agent backs off as for any
 * refusal). An address with legitimate agents behind it and a forger among them waits with the forger: the
 * credential is the only proof, and nothing cheaper tells them apart.
 */
export function createUpgradeThrottle(deps: { clock: Clock; logger: Logger; options?: UpgradeThrottleOptions }) {
  const o = deps.options ?? {}
  const trusted = o.trustedProxies ?? parseTrustedProxies('')
  const throttle = createLoginThrottle(deps.clock, {
    maxFailures: o.maxFailures ?? 20,
    windowMs: o.windowMs ?? 60_000,
    maxLockMs: o.maxLockMs ?? 5 * 60_000,
    maxParallel: o.maxParallel ?? 64,
    maxKeys: o.maxKeys ?? 10_000,
  })
  let refusedSinceLog = 0
  /** The 429s by Retry-After value, built once: a flood answers thousands of them. */
  const refusals = new Map<number, Buffer>()

  /** One line per burst, not per refused socket: the log is not a second way to exhaust the master. */
  function noteRefusal(address: string) {
    if (refusedSinceLog++ === 0)
      setTimeout(() => {
        deps.logger.warn({ address, refused: refusedSinceLog }, 'agent upgrades refused: too many failures')
        refusedSinceLog = 0
      }, 1_000).unref()
  }

  function refuse(socket: Duplex, address: string, retryAfterSeconds: number) {
    noteRefusal(address)
    let answer = refusals.get(retryAfterSeconds)
    if (!answer) {
      if (refusals.size > 1_000) refusals.clear() // Retry-After takes few values; the cache stays small anyway
      answer = Buffer.from(
        `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: ${retryAfterSeconds}\r\n` +
          'Content-Length: 0\r\n\r\n',
      )
      refusals.set(retryAfterSeconds, answer)
    }
    socket.end(answer)
  }

  return {
    /**
     * At accept, before the HTTP (or TLS) server sees the socket: a connection from an address that has spent its
     * failure budget and would be answered 429 is cut unread, whatever it was going to ask. Parsing a request,
     * answering 429 and closing gracefully cost the master most of a millisecond of CPU each on a loaded 2-core
     * machine, and a flood of them arrives in one event-loop turn (measured: /health p95 77 ms with a bare Node HTTP server answering 1,000 forged
     * upgrades 429, 29-40 ms with them cut at accept). Such an address has given up its API requests too until its
     * delay ends (at most maxLockMs). A trusted proxy's own address is never cut: its clients are told apart by
     * X-Forwarded-For only, after parsing. Returns true when the socket was cut.
     */
    refuseConnection(socket: Socket): boolean {
      const address = socket.remoteAddress
      if (!address || trusted.has(address) || !throttle.spentAndWaiting(`upgrade:${throttleKeyOf(address)}`))
        return false
      noteRefusal(address)
      socket.destroy()
      return true
    },
    /**
     * Runs `authenticate` for the upgrade unless its address is throttled; then answers 429 on the socket itself and
     * resolves undefined. A refused credential (AgentAuthRefused) counts as a failure and is rethrown.
     */
    async guard(
      req: IncomingMessage,
      socket: Duplex,
      authenticate: () => Promise<string>,
    ): Promise<string | undefined> {
      const address = resolveClientAddress(req.socket.remoteAddress, headerOf(req, 'x-forwarded-for'), trusted)
      const keys = [`upgrade:${throttleKeyOf(address)}`]
      // A flood is almost all refusals: look before reserving so a refusal costs no exception (a stack trace each).
      const wait = throttle.retryAfter(keys)
      if (wait > 0) return void refuse(socket, address, wait)
      let attempt
      try {
        attempt = throttle.reserve(keys)
      } catch (err) {
        if (!(err instanceof TooManyRequests)) throw err
        refuse(socket, address, err.retryAfterSeconds)
        return undefined
      }
      try {
        const serverId = await authenticate()
        attempt.succeeded()
        return serverId
      } catch (err) {
        if (err instanceof AgentAuthRefused) attempt.failed()
        else attempt.abandoned()
        throw err
      }
    },
    /** Addresses currently remembered (for the bound's test). */
    size: () => throttle.size(),
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

export type UpgradeThrottle = ReturnType<typeof createUpgradeThrottle>
