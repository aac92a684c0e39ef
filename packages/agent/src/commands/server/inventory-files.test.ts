import { describe, expect, it } from 'vitest'
import { renderSite } from '../../drivers/nginx-sites.ts'
import { envHash, parseSite } from './inventory-files.ts'

const dirs = {
  pagesDir: '/srv/pages',
  acmeWebroot: '/srv/acme',
  certDir: '/etc/letsencrypt/live',
  listen: '8080',
  listenTls: '8443',
  upstreamHost: '127.0.0.1',
}

describe('parseSite', () => {
  it('reads back what renderSite wrote: domain, port and TLS', () => {
    const text = renderSite(dirs, { slug: 'lab-a', domain: 'lab-a.example.com', upstreamPort: 41234, tls: true })
    expect(parseSite(text)).toEqual({ domain: 'lab-a.example.com', upstreamPort: 41234, tls: true })
    const plain = renderSite(dirs, { slug: 'lab-a', domain: 'a.example.com', upstreamPort: 5000, tls: false })
    expect(parseSite(plain)).toEqual({ domain: 'a.example.com', upstreamPort: 5000, tls: false })
  })

  it('gives nulls for a file the agent did not render, and refuses a hostile server_name', () => {
    expect(parseSite('server { listen 80; }')).toEqual({ domain: null, upstreamPort: null, tls: false })
    expect(parseSite('  server_name $(id).example.com;\n  proxy_pass http://x:99999;').domain).toBeNull()
  })
})

describe('envHash', () => {
  it('ignores order, the image variables and the database password', () => {
    const image = ['PATH=/usr/bin']
    const a = envHash(['PATH=/usr/bin', 'APP_URL=http://a', 'DB_PASSWORD=one', 'DB_HOST=h'], image)
    const b = envHash(['DB_HOST=h', 'DB_PASSWORD=two', 'APP_URL=http://a', 'PATH=/usr/bin'], image)
    expect(a).toBe(b)
    expect(a).toMatch(/^[a-f0-9]{64}$/)
    expect(envHash(['APP_URL=http://b', 'DB_HOST=h'], image)).not.toBe(a)
  })
})
