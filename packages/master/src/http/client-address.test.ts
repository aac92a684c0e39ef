import { describe, expect, it } from 'vitest'
import { parseTrustedProxies, resolveClientAddress, throttleKeyOf } from './client-address.ts'

describe('client-address', () => {
  const trusted = parseTrustedProxies('10.0.0.1, 192.168.0.0/16, fd00::/8')

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolveClientAddress('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9')
    expect(resolveClientAddress('::ffff:203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9')
  })

  it('takes the nearest untrusted hop behind trusted proxies, not what the client wrote first', () => {
    expect(resolveClientAddress('10.0.0.1', '1.2.3.4', trusted)).toBe('1.2.3.4')
    expect(resolveClientAddress('::ffff:10.0.0.1', 'spoofed, 5.6.7.8, 192.168.3.4', trusted)).toBe('5.6.7.8')
    expect(resolveClientAddress('fd00::5', '2001:db8::1', trusted)).toBe('2001:db8::1')
    expect(resolveClientAddress('10.0.0.1', 'garbage', trusted)).toBe('10.0.0.1')
    expect(resolveClientAddress('10.0.0.1', undefined, trusted)).toBe('10.0.0.1')
  })

  it('refuses malformed entries by name', () => {
    expect(() => parseTrustedProxies('10.0.0.1, example.com')).toThrow(/example\.com/)
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow(/10\.0\.0\.0\/33/)
    expect(parseTrustedProxies(undefined).has('127.0.0.1')).toBe(false)
  })

  it('counts IPv6 clients per /64 and IPv4 per address', () => {
    expect(throttleKeyOf('2001:db8:1:2:aaaa::1')).toBe(throttleKeyOf('2001:db8:1:2:bbbb::2'))
    expect(throttleKeyOf('2001:db8:1:2::1')).not.toBe(throttleKeyOf('2001:db8:1:3::1'))
    expect(throttleKeyOf('::ffff:1.2.3.4')).toBe('1.2.3.4')
    expect(throttleKeyOf('::1')).toBe('0:0:0:0::/64')
  })
})
