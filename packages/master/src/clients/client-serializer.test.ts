import { describe, expect, it } from 'vitest'
import { clientUrl } from './client-serializer.ts'

describe('clientUrl', () => {
  const client = { domain: 'acme.alfa.localhost' }

  it("carries the server's sites port when it is not 80", () => {
    expect(clientUrl(client, { tlsEnabled: false, sitesPort: 8880 })).toBe('http://acme.alfa.localhost:8880/')
  })

  it('leaves the port out for 80, none, and HTTPS', () => {
    expect(clientUrl(client, { tlsEnabled: false, sitesPort: 80 })).toBe('http://acme.alfa.localhost/')
    expect(clientUrl(client, { tlsEnabled: false, sitesPort: null })).toBe('http://acme.alfa.localhost/')
    expect(clientUrl(client, { tlsEnabled: true, sitesPort: 8880 })).toBe('https://acme.alfa.localhost/')
  })
})
