import fs from 'node:fs/promises'
import path from 'node:path'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import { probeUntil, type SiteAnswer } from './probe.ts'

/**
 * What a client's domain must show through the local nginx once an action is done:
 * - `maintenance` / `expired`: nginx's own page for this client (503 / 403, X-Alfa-Page),
 * - `app`: this client's site passing the request to the app (whatever the app answers, or nginx's page for an app
 *   that does not answer: no maintenance or expiry page),
 * - `healthy`: as `app`, and the app answers 2xx,
 * - `gone`: no longer this client's site (another server block, or nothing, answers).
 */
export type SiteExpectation = 'maintenance' | 'expired' | 'app' | 'healthy' | 'gone'

export interface SiteConfirmer {
  /** Where the local nginx listens (probeTarget of the configured listen). */
  target: { host: string; port: number }
  /** The directory of the pages and flag files, to say why nginx did not see a flag. */
  pagesDir: string
  /** How long to retry: a reload replaces workers asynchronously, an old one may answer from the old config. */
  withinMs: number
  signal?: AbortSignal
}

const PAGE_STATUS = { maintenance: 503, expired: 403 } as const

/** True when `answer` is what `expected` asks of `slug`'s site. */
export function meets(answer: SiteAnswer, slug: string, expected: SiteExpectation): boolean {
  const ours = answer.site === slug
  switch (expected) {
    case 'maintenance':
    case 'expired':
      return ours && answer.page === expected && answer.statusCode === PAGE_STATUS[expected]
    case 'app':
      return ours && (answer.page === null || answer.page === 'unavailable') && answer.statusCode !== null
    case 'healthy':
      return ours && answer.page === null && answer.available
    case 'gone':
      return !ours
  }
}

/** The expectation in a visitor's words. */
function describeExpected(expected: SiteExpectation): string {
  switch (expected) {
    case 'maintenance':
      return "nginx's maintenance page (503)"
    case 'expired':
      return "nginx's expiry page (403)"
    case 'app':
      return "the app's own answer (no maintenance or expiry page)"
    case 'healthy':
      return 'a 2xx from the app'
    case 'gone':
      return "no longer the client's site"
  }
}

/** What a visitor got, in words: status and who answered. */
export function describeAnswer(answer: SiteAnswer, slug: string): string {
  if (answer.statusCode === null) return 'no answer'
  const who =
    answer.site !== slug
      ? answer.site === null
        ? "another server block (not this client's site)"
        : `the site of ${answer.site}`
      : answer.page !== null
        ? `nginx's ${answer.page} page`
        : 'the app'
  return `${answer.statusCode} from ${who}`
}

/**
 * Why nginx's workers (another user than the agent) may not see `file`: a directory on its path they cannot enter
 * (no search bit for others), or a page they cannot read. Empty when the modes allow it.
 */
export async function visibilityProblems(file: string, needRead: boolean): Promise<string[]> {
  const problems: string[] = []
  const parts = path.resolve(file).split(path.sep).filter(Boolean)
  for (let i = 1; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`
    const stat = await fs.stat(dir).catch(() => undefined)
    if (stat && (stat.mode & 0o001) === 0)
      problems.push(
        `${dir} is mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')} (uid ${stat.uid}): others cannot enter it`,
      )
  }
  const stat = await fs.stat(file).catch(() => undefined)
  if (!stat) problems.push(`${file} does not exist`)
  else if (needRead && (stat.mode & 0o004) === 0)
    problems.push(`${file} is mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}: others cannot read it`)
  return problems
}

/** The flag (and the page) that must be visible to nginx for `expected`, or none. */
function flagAndPage(pagesDir: string, slug: string, expected: SiteExpectation): { flag: string; page: string } | null {
  if (expected !== 'maintenance' && expected !== 'expired') return null
  return { flag: path.join(pagesDir, `${slug}.${expected}`), page: path.join(pagesDir, `${expected}.html`) }
}

/**
 * Asks the local nginx for `http://<domain><urlPath>` with the client's Host header until it shows `expected`, and
 * throws NGINX_ERROR with what was seen otherwise (naming the flag or page nginx could not see, when that is why).
 */
export async function confirmSite(
  c: SiteConfirmer,
  site: { slug: string; domain: string },
  expected: SiteExpectation,
  urlPath = '/',
  o: { afterReload?: boolean } = {},
): Promise<SiteAnswer> {
  const answer = await probeUntil(c.target, site.domain, urlPath, {
    withinMs: c.withinMs,
    accept: (a) => meets(a, site.slug, expected),
    // After a reload an old worker may still take the next connection, so three more fresh connections must agree.
    // Without one (a flag file: every worker tests it with -f on each request) the first answer is what every
    // visitor gets, and the three agreeing probes would only add their 150 ms of waits to every toggle.
    stable: o.afterReload === false ? 0 : 3,
    ...(c.signal ? { signal: c.signal } : {}),
  })
  if (meets(answer, site.slug, expected)) return answer
  let why = ''
  const files = flagAndPage(c.pagesDir, site.slug, expected)
  if (files) {
    const problems = [...(await visibilityProblems(files.flag, false)), ...(await visibilityProblems(files.page, true))]
    why = problems.length
      ? `; nginx's workers cannot see the flag ${files.flag} or its page: ${[...new Set(problems)].join('; ')}`
      : `; the flag ${files.flag} and page ${files.page} look visible: check the site's configuration`
  }
  throw new CommandError(
    wireError(
      'NGINX_ERROR',
      `http://${site.domain}${urlPath} through nginx: expected ${describeExpected(expected)}, got ${describeAnswer(answer, site.slug)} within ${c.withinMs} ms${why}`,
      { domain: site.domain, expected, statusCode: answer.statusCode, site: answer.site, page: answer.page },
    ),
  )
}
