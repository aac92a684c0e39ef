import { describe, expect, it } from 'vitest'
import { forwardUntil, renderForward } from './forward-site.ts'
import { renderSite } from './nginx-sites.ts'

const good = { slug: 'lab-one', domain: 'lab-one.example.com', targetHost: '10.0.0.7', targetPort: 8880, until: 1 }

describe('renderForward', () => {
  it("proxies the domain to the new server's nginx with the visitor's Host and says until when", () => {
    const text = renderForward('127.0.0.1:8080', good)
    expect(text).toContain('server_name lab-one.example.com;')
    expect(text).toContain('proxy_pass http://10.0.0.7:8880;')
    expect(text).toContain('proxy_set_header Host $host;')
    expect(text).toContain('# alfa-forward-until: 1')
    expect(renderForward('80', { ...good, targetHost: 'fd00::7' })).toContain('proxy_pass http://[fd00::7]:8880;')
  })

  it.each([
    ['a domain ending the directive', { domain: 'a.example.com; include /etc/passwd' }],
    ['a newline in the domain', { domain: 'a.example.com\nserver {' }],
    ['a host with a space', { targetHost: '10.0.0.7 backup' }],
    ['a host ending the directive', { targetHost: 'x;' }],
    ['a port out of range', { targetPort: 70000 }],
    ['a slug with a path', { slug: '../etc' }],
  ])('refuses %s', (_what, patch) => {
    expect(() => renderForward('80', { ...good, ...patch })).toThrow()
  })
})

describe('forwardUntil', () => {
  it('reads the end of a forward back from the text renderForward wrote', () => {
    expect(forwardUntil(renderForward('80', { ...good, until: 1_767_000_000_000 }))).toBe(1_767_000_000_000)
  })

  it("never takes a client's own site, or a forged line in another file, for a forward", () => {
    const site = renderSite(
      {
        pagesDir: '/var/www/alfa-pages',
        acmeWebroot: '/var/www/alfa-acme',
        certDir: '/etc/letsencrypt/live',
        listen: '80',
        listenTls: '443',
        upstreamHost: '127.0.0.1',
      },
      { slug: 'lab-one', domain: 'lab-one.example.com', upstreamPort: 32001, tls: false },
    )
    expect(forwardUntil(site)).toBeUndefined()
    expect(forwardUntil(`server {}\n# alfa-forward-until: 1\n`)).toBeUndefined()
  })
})
