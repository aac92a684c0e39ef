import { z } from 'zod'
import { hostSchema } from './hostnames.ts'
import { absolutePathSchema } from './paths.ts'
import { excludes, matches, ruledString } from './string-rules.ts'

const componentsOf = (value: string): string[] => value.split('/')

/**
 * A branch to build from: git's ref-name rules (git check-ref-format) narrowed to an ASCII allow-list, and never
 * starting with "-", so a branch can never be read as an option such as --upload-pack even where "--" is forgotten.
 */
export const branchSchema = ruledString(100, [
  matches(/^[A-Za-z0-9._/+-]+$/, 'a branch holds only letters, digits, "/" and . _ + -'),
  matches(/^[A-Za-z0-9]/, 'a branch starts with a letter or a digit'),
  excludes('..', 'a branch must not contain ".."'),
  excludes('//', 'a branch must not contain "//"'),
  [(value) => !value.endsWith('/') && !value.endsWith('.'), 'a branch must not end with "/" or "."'],
  [
    (value) => componentsOf(value).every((part) => !part.startsWith('.') && !part.endsWith('.lock')),
    'no part of a branch may start with "." or end with ".lock"',
  ],
  [(value) => value !== 'HEAD', '"HEAD" is not a branch name'],
])

const PATH = String.raw`[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*`
const USER = '[a-z_][a-z0-9_-]{0,31}'
const HOST = String.raw`\[[0-9a-fA-F:.]+\]|[a-z0-9.-]+`
const HTTPS = new RegExp(`^https://(?<host>${HOST})(?::(?<port>[0-9]{1,5}))?/(?<path>${PATH})$`)
const SSH = new RegExp(`^ssh://(?:${USER}@)?(?<host>${HOST})(?::(?<port>[0-9]{1,5}))?/(?<path>${PATH})$`)
const SCP = new RegExp(`^${USER}@(?<host>[a-z0-9.-]+):(?<path>/?${PATH})$`)

function remoteUrlProblem(value: string): string | undefined {
  const groups = (HTTPS.exec(value) ?? SSH.exec(value) ?? SCP.exec(value))?.groups
  if (groups === undefined) return 'a repository URL is https://host/path, ssh://[user@]host/path or user@host:path'
  const host = groups['host'] ?? ''
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  const bracketedNonIpv6 = host.startsWith('[') && !bare.includes(':')
  if (!hostSchema.safeParse(bare).success || bracketedNonIpv6) return 'the host is not a valid host name or address'
  const port = groups['port']
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'the port is out of range'
  const segments = (groups['path'] ?? '').split('/').filter((s) => s !== '')
  if (segments.some((s) => s === '.' || s === '..' || s.startsWith('-'))) {
    return 'the path must not hold ".", ".." or parts starting with "-"'
  }
  return undefined
}

function fileUrlProblem(value: string): string | undefined {
  const path = value.slice('file://'.length)
  return absolutePathSchema.safeParse(path).success ? undefined : 'a file:// URL needs a normalised absolute path'
}

function localPathProblem(value: string): string | undefined {
  return absolutePathSchema.safeParse(value).success ? undefined : 'a local repository needs a normalised absolute path'
}

/**
 * Options of `gitUrlSchema`: `allowFile` admits file:// URLs and absolute local paths (a repository on the server's
 * own disk, as git accepts it), which only an operator's configuration may name, never a request.
 */
export interface GitUrlOptions {
  /** file:// and local paths read any repository on the server's disk, so request input leaves it off. */
  allowFile?: boolean
}

/**
 * A repository URL for builds: https, ssh or scp-like only (file:// and absolute local paths on request) because
 * git's other transports run programs (ext::, fd::) or read arbitrary places; no credentials in the URL (they would land in logs and .git/config), no
 * whitespace, never a leading "-".
 */
export function gitUrlSchema({ allowFile = false }: GitUrlOptions = {}) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      if (value.length > 2048) return
      const local = value.startsWith('file://') || value.startsWith('/')
      const problem = !local
        ? remoteUrlProblem(value)
        : !allowFile
          ? 'file:// and local repositories are refused here'
          : value.startsWith('/')
            ? localPathProblem(value)
            : fileUrlProblem(value)
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
    })
}
