import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { exec } from './exec.ts'
import { renderForward } from './drivers/forward-site.ts'
import { createNginxSites, renderSite } from './drivers/nginx-sites.ts'
import { createForwardExpiry } from './forward-expiry.ts'
import { silentLogger, useTempDir } from './test-helpers.ts'

const conf = {
  pagesDir: '/p',
  acmeWebroot: '/a',
  certDir: '/c',
  listen: '80',
  listenTls: '443',
  upstreamHost: '127.0.0.1',
}
/** The real sites driver on the test's dir, with `true` standing in for nginx (no reload to wait for). */
const fakeNginxSites = (sitesDir: string) =>
  createNginxSites({ ...conf, exec, argvPrefix: ['true'], sitesDir, reloadSettleMs: 0 })
const forward = (slug: string, until: number) =>
  renderForward('80', { slug, domain: `${slug}.example.com`, targetHost: '10.0.0.7', targetPort: 80, until })

describe('forward expiry', () => {
  const dir = useTempDir('forward-expiry')

  function setup(intervalMs = 60_000) {
    const reloads: string[] = []
    // `true` stands in for nginx: the files are real, the reloads are counted.
    const real = () => fakeNginxSites(dir())
    const sites = () => ({
      removeIf: async (slug: string, test: (text: string) => boolean) => {
        const removed = await real().removeIf(slug, test)
        if (removed) reloads.push(slug)
        return removed
      },
    })
    const expiry = createForwardExpiry({ sitesDir: dir(), sites, now: Date.now, intervalMs, logger: silentLogger })
    const exists = (name: string) =>
      fs.stat(path.join(dir(), name)).then(
        () => true,
        () => false,
      )
    return { expiry, reloads, exists }
  }

  it("removes ended forwards only, and says when the next ends; a client's own site is never touched", async () => {
    const { expiry, reloads, exists } = setup()
    const later = Date.now() + 3_600_000
    await fs.writeFile(path.join(dir(), 'alfa-gone.conf'), forward('gone', Date.now() - 1))
    await fs.writeFile(path.join(dir(), 'alfa-later.conf'), forward('later', later))
    await fs.writeFile(
      path.join(dir(), 'alfa-own.conf'),
      renderSite(conf, { slug: 'own', domain: 'own.example.com', upstreamPort: 32001, tls: false }),
    )
    await fs.writeFile(path.join(dir(), 'other.conf'), forward('other', 1))
    expect(await expiry.sweep()).toEqual({ removed: ['gone'], next: later })
    expect(reloads).toEqual(['gone'])
    expect(await exists('alfa-gone.conf')).toBe(false)
    expect(await exists('alfa-later.conf')).toBe(true)
    expect(await exists('alfa-own.conf')).toBe(true)
    expect(await exists('other.conf')).toBe(true)
    expect(await expiry.sweep()).toEqual({ removed: [], next: later })
  })

  it('sweeps at start (a forward that ended while the agent was down) and again when the next forward ends', async () => {
    const { expiry, exists } = setup()
    await fs.writeFile(path.join(dir(), 'alfa-while-down.conf'), forward('while-down', Date.now() - 60_000))
    await fs.writeFile(path.join(dir(), 'alfa-soon.conf'), forward('soon', Date.now() + 400))
    expiry.start()
    try {
      await expect.poll(() => exists('alfa-while-down.conf'), { timeout: 2_000 }).toBe(false)
      expect(await exists('alfa-soon.conf')).toBe(true)
      // The interval is a minute: only the timer set for the forward's own end can remove it this soon.
      await expect.poll(() => exists('alfa-soon.conf'), { timeout: 3_000 }).toBe(false)
    } finally {
      expiry.stop()
    }
  })

  it('leaves a forward that a new site replaced between the look and the removal', async () => {
    const { exists } = setup()
    await fs.writeFile(
      path.join(dir(), 'alfa-back.conf'),
      renderSite(conf, { slug: 'back', domain: 'back.example.com', upstreamPort: 32002, tls: false }),
    )
    const sites = fakeNginxSites(dir())
    expect(await sites.removeIf('back', () => false)).toBe(false)
    expect(await exists('alfa-back.conf')).toBe(true)
  })
})
