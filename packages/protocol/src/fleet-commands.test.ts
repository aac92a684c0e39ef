import { describe, expect, it } from 'vitest'
import { ClientDeployPayload, ServerInventoryPayload } from './fleet-commands.ts'
import { LARAVEL_PROFILE } from './app-profile.ts'

const deploy = {
  clientId: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
  slug: 'lab-a',
  domain: 'lab-a.example.com',
  image: 'alfa/app:1.0.0',
  dbEngine: 'mariadb',
  profile: LARAVEL_PROFILE,
  settings: { maintenance: false, expireDate: null, turbostart: false, tutorial: true, version: '1.0.0' },
  expired: false,
  tls: false,
}

describe('fleet command payloads', () => {
  it('accept a well-formed deploy and inventory', () => {
    expect(ClientDeployPayload.safeParse(deploy).success).toBe(true)
    expect(ServerInventoryPayload.safeParse({ dbEngine: 'postgresql', slugs: ['lab-a'] }).success).toBe(true)
  })

  it.each([
    ['slug', '../../etc'],
    ['slug', 'a; rm -rf /'],
    ['image', '$(id)'],
    ['image', '--upload-pack=x'],
    ['domain', 'lab.example.com\nserver_name evil'],
    ['clientId', 'not-a-uuid'],
  ])('refuse a hostile %s (%j)', (field, value) => {
    const parsed = ClientDeployPayload.safeParse({ ...deploy, [field]: value })
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]?.path).toEqual([field])
  })

  it('refuse hostile slugs in an inventory and unknown fields', () => {
    expect(ServerInventoryPayload.safeParse({ dbEngine: 'mariadb', slugs: ['a/../b'] }).success).toBe(false)
    expect(ServerInventoryPayload.safeParse({ dbEngine: 'mariadb', slugs: [], argv: ['sh'] }).success).toBe(false)
    expect(ClientDeployPayload.safeParse({ ...deploy, env: { X: '1' } }).success).toBe(false)
  })
})
