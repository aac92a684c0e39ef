import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import type { Context } from 'hono'

/** Proxies whose X-Forwarded-For is believed (ALFA_TRUSTED_PROXIES: addresses and CIDRs, comma-separated). */
export interface TrustedProxies {
  has(address: string): boolean
  /** The list as configured, for the start-up log. */
  readonly entries: readonly string[]
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) is 1.2.3.4. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped ? mapped[1]! : address
}

/** Parses "10.0.0.1, 192.168.0.0/16, fd00::/8"; throws naming the bad entry. */
export function parseTrustedProxies(list: string | undefined): TrustedProxies {
  const blocks = new net.BlockList()
  const entries = (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const entry of entries) {
    const [addr, prefixText, extra] = entry.split('/')
    const kind = net.isIP(addr ?? '')
    const prefix = prefixText === undefined ? undefined : Number(prefixText)
    const maxPrefix = kind === 4 ? 32 : 128
    if (
      !kind ||
      extra !== undefined ||
      (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix))
    )
      throw new Error(`not an address or CIDR: ${JSON.stringify(entry)}`)
    const type = kind === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) blocks.addAddress(addr!, type)
    else blocks.addSubnet(addr!, prefix, type)
  }
  return {
    entries,
    has(address: string) {
      const a = normalize(address)
      const kind = net.isIP(a)
      return kind !== 0 && blocks.check(a, kind === 4 ? 'ipv4' : 'ipv6')
    },
  }
}

/**
 * The client's address: the socket's peer, unless that peer is a trusted proxy; then the nearest address in
 * X-Forwarded-For that is not itself a trusted proxy (the header's left part is whatever the client wrote).
 */
export function resolveClientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trusted: TrustedProxies,
): string {
  let address = normalize(socketAddress ?? 'unknown')
  if (!forwardedFor || !trusted.has(address)) return address
  const hops = forwardedFor.split(',').map((s) => normalize(s.trim()))
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!
    if (!net.isIP(hop)) break // a malformed hop: stop at the last address we could vouch for
    address = hop
    if (!trusted.has(hop)) break
  }
  return address
}

/** The Hono-side resolver: the Node socket of the request and its X-Forwarded-For header. */
export function clientAddressResolver(trusted: TrustedProxies): (c: Context) => string {
  return (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
    return resolveClientAddress(incoming?.socket.remoteAddress, c.req.header('X-Forwarded-For'), trusted)
  }
}

/**
 * What throttles count by: an IPv4 address, or the /64 of an IPv6 one (one customer line holds a whole /64, so
 * counting single IPv6 addresses would give an attacker 2^64 budgets).
 */
export function throttleKeyOf(address: string): string {
  const a = normalize(address)
  if (net.isIP(a) !== 6) return a
  // Expand "::" so the first four groups are always there.
  const [head = '', tail = ''] = a.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = a.includes('::') && tail ? tail.split(':') : []
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return `${groups.slice(0, 4).join(':')}::/64`
}
