// The nginx site driver against a private nginx: `nginx -t` failures restore the previous file (SECURITY.md), and
// the site file is never written through a symlink or outside the sites directory.
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { exec } from '@alfa/agent'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNginxSites, renderSite, type NginxSites } from '../../packages/agent/src/drivers/nginx-sites.ts'
import { oldWorkersStopped, servingWorkers } from '../../packages/agent/src/drivers/nginx-workers.ts'
import { fetchVhost, startNginx, type PrivateNginx } from '../support/nginx.ts'
import { makeTempDir } from '../support/process.ts'

let nginx: PrivateNginx
let dir: string
let sites: NginxSites
const options = () => ({
  pagesDir: path.join(nginx.wwwDir, 'pages'),
  acmeWebroot: path.join(nginx.wwwDir, 'acme'),
  certDir: path.join(dir, 'certs'),
  listen: `127.0.0.1:${nginx.port}`,
  listenTls: '127.0.0.1:0',
  upstreamHost: '127.0.0.1',
})

beforeAll(async () => {
  ;[nginx, dir] = await Promise.all([startNginx(), makeTempDir('nginx-sites')])
  sites = createNginxSites({ exec, argvPrefix: ['nginx', ...nginx.nginxArgs], sitesDir: nginx.confDir, ...options() })
})
afterAll(async () => {
  await nginx?.stop()
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

const siteFile = (slug: string) => path.join(nginx.confDir, `alfa-${slug}.conf`)

describe('nginx sites', () => {
  it('restores the previous file when nginx -t fails, and reports nginx message as NGINX_ERROR', async () => {
    await sites.apply({ slug: 'keep-me', domain: 'keep-me.clients.test', upstreamPort: 1111, tls: false })
    const before = await fs.readFile(siteFile('keep-me'), 'utf8')
    expect(before).toContain('proxy_pass http://127.0.0.1:1111;')
    // Someone else's broken file in the same directory makes every `nginx -t` fail, as a real host can.
    const broken = path.join(nginx.confDir, 'zz-broken.conf')
    await fs.writeFile(broken, 'this_is_not_a_directive;\n')
    try {
      await expect(
        sites.apply({ slug: 'keep-me', domain: 'keep-me.clients.test', upstreamPort: 2222, tls: false }),
      ).rejects.toMatchObject({
        wire: { code: 'NGINX_ERROR', message: expect.stringContaining('unknown directive "this_is_not_a_directive"') },
      })
      expect(await fs.readFile(siteFile('keep-me'), 'utf8')).toBe(before)
      // A new site that fails the test is removed again rather than left for the next reload to trip on.
      await expect(
        sites.apply({ slug: 'new-one', domain: 'new-one.clients.test', upstreamPort: 3333, tls: false }),
      ).rejects.toMatchObject({
        wire: { code: 'NGINX_ERROR' },
      })
      await expect(fs.access(siteFile('new-one'))).rejects.toThrow()
    } finally {
      await fs.rm(broken)
    }
    expect(await sites.remove('keep-me')).toBe(true)
    expect(await sites.remove('keep-me')).toBe(false)
  })

  // With the pid file the reload watches the old workers stop in /proc, and the fixed wait is 0: a proof that read
  // nothing, or that returned early, would let the old worker answer below. Without it: the fixed wait alone.
  it.each([
    ['watching the old workers stop (pid file, no fixed wait)', () => ({ pidFile: nginx.pidPath, reloadSettleMs: 0 })],
    ['after the fixed wait (no pid file)', () => ({})],
  ])('reports a reload done only once no worker answers with the old configuration: %s', async (_, how) => {
    const sites = createNginxSites({
      exec,
      argvPrefix: ['nginx', ...nginx.nginxArgs],
      sitesDir: nginx.confDir,
      ...options(),
      ...how(),
    })
    // Two upstreams that say which they are; every GET below opens a fresh connection, as a new visitor does.
    const upstreams = await Promise.all(['one', 'two'].map((name) => answering(name)))
    const [one, two] = upstreams.map((u) => u.port) as [number, number]
    const spec = { slug: 'reload-lab', domain: 'reload-lab.clients.test', tls: false }
    const answersFor = async (ms: number) => {
      const seen = new Map<string, number>()
      for (const end = Date.now() + ms; Date.now() < end;) {
        const { status, body } = await fetchVhost(nginx.port, spec.domain, '/')
        const key = status === 200 ? body : String(status)
        seen.set(key, (seen.get(key) ?? 0) + 1)
      }
      return Object.fromEntries(seen)
    }
    try {
      await sites.apply({ ...spec, upstreamPort: one })
      expect(Object.keys(await answersFor(100))).toEqual(['one'])
      // Right after the switch of upstream: nginx's old worker took about half of the new connections for ~100 ms
      // after the reload signal, while the new one answered within milliseconds.
      const before = await servingWorkers(nginx.pidPath)
      expect(before?.length).toBeGreaterThan(0)
      const started = Date.now()
      await sites.apply({ ...spec, upstreamPort: two })
      const applied = Date.now() - started
      // Done means the workers from before the reload no longer take connections.
      expect(await oldWorkersStopped(before!, 0)).toBe(true)
      expect(Object.keys(await answersFor(300))).toEqual(['two'])
      await sites.remove(spec.slug)
      expect(Object.keys(await answersFor(300))).toEqual(['404'])
      console.info(`apply (write, nginx -t, reload until done) took ${applied} ms`)
    } finally {
      await Promise.all(upstreams.map((u) => u.close()))
    }
  })

  it('a flag set while its page is missing (a cleaned pages dir) still shows the page, not nginx own 404', async () => {
    const site = { slug: 'no-pages', domain: 'no-pages.clients.test', upstreamPort: 1, tls: false }
    await sites.apply(site)
    const pages = options().pagesDir
    try {
      for (const [flags, status, heading] of [
        [{ maintenance: true, expired: false }, 503, '<h1>Технические работы</h1>'],
        [{ maintenance: false, expired: true }, 403, '<h1>Срок подписки истёк</h1>'],
      ] as const) {
        await fs.rm(pages, { recursive: true, force: true })
        await sites.setFlags(site.slug, flags)
        const shown = await fetchVhost(nginx.port, site.domain, '/')
        expect(shown.status).toBe(status)
        expect(shown.body).toContain(heading)
      }
    } finally {
      await sites.setFlags(site.slug, { maintenance: false, expired: false })
      await sites.remove(site.slug)
    }
  })

  it("an app that does not answer gets nginx's own page (still 502); the app's own 502 passes untouched", async () => {
    let status = 200
    const app = http.createServer((_req, res) => res.writeHead(status).end(`the app's own ${status}`))
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    const site = {
      slug: 'down-app',
      domain: 'down-app.clients.test',
      upstreamPort: (app.address() as AddressInfo).port,
    }
    await sites.ensurePages()
    await sites.apply({ ...site, tls: false })
    try {
      expect(await fetchVhost(nginx.port, site.domain, '/')).toEqual({ status: 200, body: "the app's own 200" })
      status = 502
      expect(await fetchVhost(nginx.port, site.domain, '/')).toEqual({ status: 502, body: "the app's own 502" })
      await new Promise((resolve) => app.close(resolve))
      const shown = await fetchVhost(nginx.port, site.domain, '/any/path')
      expect(shown.status).toBe(502)
      expect(shown.body).toContain('<h1 lang="en">Temporarily unavailable</h1>')
    } finally {
      app.close()
      await sites.remove(site.slug)
    }
  })

  it('refuses to write through a symlink planted at the site path', async () => {
    const target = path.join(dir, 'victim.txt')
    await fs.writeFile(target, 'precious\n')
    await fs.symlink(target, siteFile('evil'))
    try {
      await expect(
        sites.apply({ slug: 'evil', domain: 'evil.clients.test', upstreamPort: 1111, tls: false }),
      ).rejects.toThrow(/symlink/)
      await expect(sites.remove('evil')).rejects.toThrow(/symlink/)
      expect(await fs.readFile(target, 'utf8')).toBe('precious\n')
    } finally {
      await fs.rm(siteFile('evil'))
    }
  })

  it('never renders a value that could break out of a directive', () => {
    const site = { slug: 'ok-site', domain: 'ok.clients.test', upstreamPort: 1111, tls: false }
    expect(() => renderSite({ ...options(), pagesDir: '/srv/pages; include /etc/passwd' }, site)).toThrow(
      /cannot go into an nginx config/,
    )
    expect(() => renderSite(options(), { ...site, domain: 'a.test; return 200' })).toThrow()
    expect(() => renderSite(options(), { ...site, slug: '../../etc' })).toThrow()
    expect(() => renderSite(options(), { ...site, upstreamPort: 70000 })).toThrow()
    const tls = renderSite(options(), { ...site, tls: true })
    expect(tls).toContain(`ssl_certificate ${path.join(dir, 'certs')}/ok.clients.test/fullchain.pem;`)
  })
})

/** An HTTP server on a free port that answers every request with `name`. */
async function answering(name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_, res) => res.end(name))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
