import fs from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { absolutePathSchema, domainSchema, portSchema, slugSchema, wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import { ExecError, type Exec } from '../exec.ts'
import { oldWorkersStopped, servingWorkers } from './nginx-workers.ts'
import { ensureEmptyInside, readInside, removeInside, writeInside } from './safe-files.ts'
import { DEFAULT_PAGES, expiredFlag, maintenanceFlag, SITE_PAGES } from './default-pages.ts'

export interface NginxSitesOptions {
  exec: Exec
  /** argv before `-t` / `-s reload` (configuration only, never from the wire). */
  argvPrefix: readonly string[]
  sitesDir: string
  pagesDir: string
  acmeWebroot: string
  certDir: string
  listen: string
  listenTls: string
  /** The address the container port is published on; nginx proxies there. */
  upstreamHost: string
  signal?: AbortSignal
  /** nginx's pid file: a reload is done once that master's old workers stopped taking connections (nginx-workers). */
  pidFile?: string
  /** Without a pid file: how long a reload is given to reach every worker (unit tests with a fake nginx pass 0). */
  reloadSettleMs?: number
}

/**
 * How long after `nginx -s reload` the old configuration may still answer. The command only signals nginx's master,
 * which starts new workers and then sleeps 100 ms before it tells the old ones to stop (ngx_process_cycle.c); until
 * they handle that, old and new workers both take new connections. Measured here (1 worker, fresh connections): the
 * new configuration answers 2-13 ms after the reload, the old one about half of them until ~100 ms. So a reload is
 * done only once the old workers stopped (watched in /proc, up to RELOAD_PROOF_MS), or, without a pid file, after this.
 */
export const RELOAD_SETTLE_MS = 250
/** nginx's own pause is 100 ms: a reload whose old workers still serve after this was not applied by the master. */
export const RELOAD_PROOF_MS = 5_000

/** What one client's vhost needs. */
export interface SiteSpec {
  slug: string
  domain: string
  /** The host port Docker published the container's port on. */
  upstreamPort: number
  /** Serve HTTPS with the certificate under certDir/<domain>/ (it must exist). */
  tls: boolean
}

/** How a site's location proxies to its upstream: the visitor's Host and address passed on (sites and forwards). */
export const PROXY_DIRECTIVES = [
  '    proxy_http_version 1.1;',
  '    proxy_set_header Host $host;',
  '    proxy_set_header X-Real-IP $remote_addr;',
  '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
  '    proxy_set_header X-Forwarded-Proto $scheme;',
  '    proxy_read_timeout 120s;',
] as const

export const siteFileName = (slug: string): string => `alfa-${slugSchema.parse(slug)}.conf`

// One nginx configuration per host: write → test → reload must not interleave, or one client's `nginx -t`
// could fail on another's half-applied file and restore the wrong thing.
const locks = new Map<string, Promise<unknown>>()
function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const run = (locks.get(key) ?? Promise.resolve()).then(work, work)
  const settled = run.catch(() => undefined)
  locks.set(key, settled)
  return run
}

/** A path that goes into nginx.conf verbatim: the protocol's path alphabet has no space, ";", "{", quote or "$". */
function confPath(value: string, what: string): string {
  const parsed = absolutePathSchema.safeParse(value)
  if (!parsed.success)
    throw new CommandError(wireError('INTERNAL', `${what} ${JSON.stringify(value)} cannot go into an nginx config`))
  return parsed.data
}

/** nginx's bracket form for an IPv6 upstream; a wildcard bind is reached over loopback. */
function upstreamAddress(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

/** Renders the vhost; every value is re-validated here because this text is executed by nginx as configuration. */
export function renderSite(
  o: Pick<NginxSitesOptions, 'pagesDir' | 'acmeWebroot' | 'certDir' | 'listen' | 'listenTls' | 'upstreamHost'>,
  site: SiteSpec,
): string {
  const slug = slugSchema.parse(site.slug)
  const domain = domainSchema.parse(site.domain)
  const port = portSchema.parse(site.upstreamPort)
  const pages = confPath(o.pagesDir, 'pagesDir')
  const webroot = confPath(o.acmeWebroot, 'acmeWebroot')
  const tls = site.tls
    ? [
        `  listen ${o.listenTls} ssl;`,
        `  ssl_certificate ${confPath(`${o.certDir}/${domain}/fullchain.pem`, 'certificate')};`,
        `  ssl_certificate_key ${confPath(`${o.certDir}/${domain}/privkey.pem`, 'certificate key')};`,
      ]
    : []
  return [
    `# Managed by alfa-agent for client ${slug}: rewritten on every change, do not edit.`,
    'server {',
    `  listen ${o.listen};`,
    ...tls,
    `  server_name ${domain};`,
    '',
    '  # ACME http-01 challenges for certbot --webroot (also while in maintenance).',
    `  location ^~ /.well-known/acme-challenge/ { root ${webroot}; default_type text/plain; }`,
    '',
    '  # Pages nginx serves by itself, so they work while the app is stopped or broken. error_page only catches',
    "  # nginx's own answers (proxy_intercept_errors is off): the returns below, and 502/504 when the app does not",
    "  # answer (stopped, restarting); the app's own 503/403/502 pass through untouched.",
    ...SITE_PAGES.map((p) => `  error_page ${p.statuses} /__alfa_${p.mark}.html;`),
    // The X-Alfa-* marks let the agent confirm through nginx what visitors get (drivers/confirm-site.ts). add_header
    // in a location replaces the server's, so each page location repeats the site mark.
    `  add_header X-Alfa-Site ${slug} always;`,
    ...SITE_PAGES.map((p) => {
      const retry = p.retryAfterS === undefined ? '' : ` add_header Retry-After ${p.retryAfterS} always;`
      const marks = `add_header X-Alfa-Site ${slug} always; add_header X-Alfa-Page ${p.mark} always;`
      return `  location = /__alfa_${p.mark}.html { alias ${pages}/${p.file}; internal;${retry} ${marks} }`
    }),
    '',
    '  location / {',
    // `if` with `return` is the safe use of if in a location; maintenance wins over expiry, as in the app.
    `    if (-f ${pages}/${maintenanceFlag(slug)}) { return 503; }`,
    `    if (-f ${pages}/${expiredFlag(slug)}) { return 403; }`,
    `    proxy_pass http://${upstreamAddress(o.upstreamHost)}:${port};`,
    // The app cannot forge the marks the agent trusts.
    '    proxy_hide_header X-Alfa-Site;',
    '    proxy_hide_header X-Alfa-Page;',
    ...PROXY_DIRECTIVES,
    '  }',
    '}',
    '',
  ].join('\n')
}

/** nginx's own words from a failed `nginx -t` / reload, without the argv noise. */
function nginxFailure(what: string, error: unknown): CommandError {
  const detail =
    error instanceof ExecError
      ? error.stderrTail.trim() || error.message
      : error instanceof Error
        ? error.message
        : String(error)
  return new CommandError(wireError('NGINX_ERROR', `${what}: ${detail}`))
}

/** Writes, tests, reloads and removes client vhosts in the configured sites directory. */
export function createNginxSites(o: NginxSitesOptions) {
  const run = (args: string[]) =>
    o.exec([...o.argvPrefix, ...args], { timeoutMs: 30_000, ...(o.signal ? { signal: o.signal } : {}) })

  /** Puts default maintenance and expiry pages in place unless the operator has written their own. */
  async function ensurePages(): Promise<void> {
    // nginx's workers run as another user (www-data): the directory must let them in whatever the agent's umask
    // (the unit sets 0077). Set only when the agent creates it: an operator's own modes are theirs.
    if ((await fs.mkdir(o.pagesDir, { recursive: true })) !== undefined) await fs.chmod(o.pagesDir, 0o755)
    for (const [name, html] of Object.entries(DEFAULT_PAGES)) {
      if ((await readInside(o.pagesDir, name)) === undefined) await writeInside(o.pagesDir, name, html)
    }
  }

  async function test(): Promise<void> {
    try {
      await run(['-t'])
    } catch (error) {
      throw nginxFailure('nginx -t refused the configuration', error)
    }
  }

  async function reload(): Promise<void> {
    const old = o.pidFile ? await servingWorkers(o.pidFile) : undefined
    try {
      await run(['-s', 'reload'])
    } catch (error) {
      throw nginxFailure('nginx reload failed', error)
    }
    if (old) await oldWorkersStopped(old, RELOAD_PROOF_MS)
    else await sleep(o.reloadSettleMs ?? RELOAD_SETTLE_MS)
  }

  const put = (slug: string, content: string): Promise<string> =>
    serialized(o.sitesDir, async () => {
      const name = siteFileName(slug)
      const previous = await readInside(o.sitesDir, name)
      const file = await writeInside(o.sitesDir, name, content)
      try {
        await test()
      } catch (error) {
        if (previous === undefined) await removeInside(o.sitesDir, name)
        else await writeInside(o.sitesDir, name, previous)
        throw error
      }
      await reload()
      return file
    })

  const removeWhen = (slug: string, check: (text: string) => boolean): Promise<boolean> =>
    serialized(o.sitesDir, async () => {
      const text = await readInside(o.sitesDir, siteFileName(slug))
      if (text === undefined || !check(text)) return false
      if (!(await removeInside(o.sitesDir, siteFileName(slug)))) return false
      await reload()
      return true
    })

  return {
    render: (site: SiteSpec) => renderSite(o, site),

    /** Where a client's site file lives. */
    fileOf: (slug: string): string => `${o.sitesDir}/${siteFileName(slug)}`,

    /** True when the client's site file exists. */
    exists: async (slug: string): Promise<boolean> => (await readInside(o.sitesDir, siteFileName(slug))) !== undefined,

    /**
     * Writes the site atomically, runs `nginx -t`, and on failure puts back the previous file (or removes the new
     * one) before throwing NGINX_ERROR with nginx's message; on success reloads. Returns the file path.
     */
    apply: async (site: SiteSpec): Promise<string> => put(site.slug, renderSite(o, site)),

    /** As apply, with a site text rendered elsewhere (a move's forward, drivers/forward-site.ts). */
    putRendered: (slug: string, content: string): Promise<string> => put(slug, content),

    /** Removes the site and reloads; false (and no reload) when there was none. */
    remove: (slug: string): Promise<boolean> => removeWhen(slug, () => true),

    /**
     * Removes the site only if its text, read under the same lock that writes sites, passes `test` (an expired
     * forward that no create has replaced since it was looked at); reloads when removed.
     */
    removeIf: (slug: string, test: (text: string) => boolean): Promise<boolean> => removeWhen(slug, test),

    /**
     * The spec of the client's current site, read back from the file we rendered (the upstream port and whether it
     * serves TLS), so a switch can point it elsewhere and back; undefined when there is no site.
     */
    async current(slug: string, domain?: string): Promise<SiteSpec | undefined> {
      const text = await readInside(o.sitesDir, siteFileName(slug))
      if (text === undefined) return undefined
      const port = /^\s*proxy_pass http:\/\/\S+:(\d+);$/m.exec(text)?.[1]
      if (port === undefined)
        throw new CommandError(wireError('INTERNAL', `${siteFileName(slug)} has no proxy_pass the agent wrote`))
      const name = domain ?? /^\s*server_name (\S+);$/m.exec(text)?.[1]
      if (name === undefined)
        throw new CommandError(wireError('INTERNAL', `${siteFileName(slug)} has no server_name the agent wrote`))
      return { slug, domain: name, upstreamPort: Number(port), tls: /^\s*listen \S+ ssl;$/m.test(text) }
    },

    /**
     * Rewrites the client's site when its file differs from what this agent renders (a site written by an older
     * agent lacks what confirming through nginx needs); false when there is no site or nothing changed.
     */
    async refresh(slug: string): Promise<boolean> {
      const text = await readInside(o.sitesDir, siteFileName(slug))
      if (text === undefined) return false
      const spec = await this.current(slug)
      if (!spec || renderSite(o, spec) === text) return false
      await this.apply(spec)
      return true
    },

    /**
     * Creates or removes the client's maintenance and expiry flag files. No reload: the vhost tests them with `-f`
     * on every request (nginx caches no file state unless open_file_cache is configured, which we never do).
     */
    async setFlags(slug: string, flags: { maintenance: boolean; expired: boolean }): Promise<void> {
      // A flag without its page makes nginx answer its own 404: the page first (a switch's or a move's freeze sets
      // the maintenance flag without a configure before it).
      if (flags.maintenance || flags.expired) await ensurePages()
      for (const [name, on] of [
        [maintenanceFlag(slug), flags.maintenance],
        [expiredFlag(slug), flags.expired],
      ] as const) {
        if (on) await ensureEmptyInside(o.pagesDir, name, 0o644)
        else await removeInside(o.pagesDir, name)
      }
    },

    /** Which flag files exist: while one does, nginx answers with its page, never with the app. */
    async flags(slug: string): Promise<{ maintenance: boolean; expired: boolean }> {
      const has = async (name: string) => (await readInside(o.pagesDir, name)) !== undefined
      return { maintenance: await has(maintenanceFlag(slug)), expired: await has(expiredFlag(slug)) }
    },

    ensurePages,

    test,
    reload,
  }
}

export type NginxSites = ReturnType<typeof createNginxSites>
