import { domainSchema, hostSchema, portSchema, slugSchema } from '@alfa/protocol'
import { PROXY_DIRECTIVES } from './nginx-sites.ts'

const FORWARD_FIRST_LINE = /^# Managed by alfa-agent: client [a-z][a-z0-9-]* moved to /
const UNTIL_LINE = /^# alfa-forward-until: (\d{1,16})$/m

/**
 * When a site file's forward ends (ms since the epoch), or undefined when the text is not a forward this agent
 * rendered (a client's own site, or anything else, is never taken for one).
 */
export function forwardUntil(text: string): number | undefined {
  if (!FORWARD_FIRST_LINE.test(text)) return undefined
  const until = UNTIL_LINE.exec(text)?.[1]
  return until === undefined ? undefined : Number(until)
}

/** The mark of a forward's answers, so a test (and an operator) can tell them from a local site's. */
export const FORWARD_HEADER = 'x-alfa-forward'

/**
 * The vhost that keeps a moved client's old address working while DNS follows: the domain on this server proxies
 * to the new server's nginx with the visitor's Host header. The line `# alfa-forward-until: <ms>` says when it may
 * be removed. Every value is re-validated: this text is executed by nginx as configuration.
 */
export function renderForward(
  listen: string,
  f: { slug: string; domain: string; targetHost: string; targetPort: number; until: number },
): string {
  const slug = slugSchema.parse(f.slug)
  const domain = domainSchema.parse(f.domain)
  const host = hostSchema.parse(f.targetHost)
  const port = portSchema.parse(f.targetPort)
  const upstream = host.includes(':') ? `[${host}]` : host
  return [
    `# Managed by alfa-agent: client ${slug} moved to ${upstream}:${port}; forwarded while DNS follows.`,
    `# alfa-forward-until: ${Math.trunc(f.until)}`,
    'server {',
    `  listen ${listen};`,
    `  server_name ${domain};`,
    `  add_header X-Alfa-Forward ${slug} always;`,
    '  location / {',
    `    proxy_pass http://${upstream}:${port};`,
    ...PROXY_DIRECTIVES,
    '  }',
    '}',
    '',
  ].join('\n')
}
