import { z } from 'zod'
import { matches, ruledString, type StringRule } from './string-rules.ts'

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

function labelsOf(value: string): string[] {
  return value.split('.')
}

/** Rules of an LDH host name (RFC 1123 / 5890), lower-case ASCII only, shared by domains, hosts and e-mail domains. */
function hostnameRules(minLabels: number): StringRule[] {
  return [
    matches(/^[a-z0-9.-]+$/, 'only lower-case a-z, 0-9, "-" and "." are allowed (use the xn-- form for IDNs)'),
    [(value) => labelsOf(value).length >= minLabels, 'needs at least two labels, such as example.com'],
    [(value) => labelsOf(value).every((label) => LABEL.test(label)), 'each label is 1–63 characters, no "-" at ends'],
    // "ab--cd" is reserved for encodings (RFC 5891 §4.2.3.1): only real A-labels ("xn--") may use it.
    [
      (value) => labelsOf(value).every((label) => label.slice(2, 4) !== '--' || label.startsWith('xn--')),
      '"--" in the third and fourth place is only allowed in xn-- labels',
    ],
    // An all-digit last label would make 1.2.3.4 a "domain": IP literals are a different thing.
    [(value) => !/^[0-9]+$/.test(labelsOf(value).at(-1) ?? ''), 'the last label must not be all digits'],
  ]
}

const SINGLE_LABEL_HOST = hostnameRules(1)
const TWO_LABEL_HOST = hostnameRules(2)
const IPV4 = z.ipv4()
const IPV6 = z.ipv6()

/**
 * A client's domain: it is written into an nginx server_name, a certbot argv and a URL, so lower-case ASCII LDH only
 * (no newline can smuggle an nginx directive; a Cyrillic "а" cannot pose as a Latin "a"); IDNs come as xn--.
 */
export const domainSchema = ruledString(253, TWO_LABEL_HOST)

/** A server's address: a host name as strict as a domain (one label allowed) or an IP literal, argv-safe. */
export const hostSchema = ruledString(253, [
  [
    (value) =>
      IPV4.safeParse(value).success ||
      IPV6.safeParse(value).success ||
      SINGLE_LABEL_HOST.every(([test]) => test(value)),
    'a host is a host name such as db1.example.com, or an IPv4 or IPv6 address',
  ],
])

const LOCAL_PART = /^[A-Za-z0-9_%+][A-Za-z0-9_%+-]*(?:\.[A-Za-z0-9_%+-]+)*$/

function splitAddress(value: string): [local: string, domain: string] | undefined {
  const parts = value.split('@')
  return parts.length === 2 && parts[0] !== undefined && parts[1] !== undefined ? [parts[0], parts[1]] : undefined
}

/**
 * An e-mail address as people really use them: ASCII, no quotes, comments, spaces or angle brackets (which turn an
 * address into header or argv injection), local part not starting with "-" (a sendmail option), ≤254 characters.
 */
export const emailSchema = ruledString(254, [
  [(value) => splitAddress(value) !== undefined, 'an e-mail address has exactly one "@"'],
  [
    (value) => {
      const local = splitAddress(value)?.[0] ?? ''
      return local.length <= 64 && LOCAL_PART.test(local)
    },
    'the part before "@" is 1–64 characters of letters, digits and . _ % + -',
  ],
  [
    (value) => {
      // Checked as ASCII before lower-casing: U+212A KELVIN SIGN lower-cases to a Latin "k".
      const domain = splitAddress(value)?.[1] ?? ''
      return /^[A-Za-z0-9.-]+$/.test(domain) && TWO_LABEL_HOST.every(([test]) => test(domain.toLowerCase()))
    },
    'the part after "@" is a domain such as example.com',
  ],
])
