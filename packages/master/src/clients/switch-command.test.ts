import { ClientSwitchPayload, LARAVEL_PROFILE, SWITCH_ROLLBACK_HEALTH } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import type { Client } from '../generated/prisma/client.ts'
import { createProfileResolver } from './app-profiles.ts'
import { switchCommand } from './switch-command.ts'

const demoProfile = { ...LARAVEL_PROFILE, healthPath: '/health' }
const profiles = createProfileResolver({ images: { 'alfa/demo': demoProfile } })

const client: Client = {
  id: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
  slug: 'acme',
  name: 'Acme Lab',
  domain: 'acme.cloud.example.com',
  serverId: '5c4d1b2a-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  status: 'active',
  image: 'alfa/demo:1.0.0',
  version: '1.0.0',
  ownerLogin: 'owner',
  ownerEmail: 'owner@acme.example',
  ownerPasswordEnc: null,
  contactEmail: null,
  language: 'en',
  expireDate: new Date('2030-12-31T00:00:00Z'),
  maintenance: false,
  expiryBlocked: false,
  settingsPending: false,
  demo: false,
  turbostart: false,
  tutorial: true,
  memoryLimitMb: 384,
  cpuLimit: null,
  available: true,
  availableCheckedAt: null,
  usersCount: 1,
  usersCountAt: null,
  deletedAt: null,
  copiedFromId: null,
  remindersEnabled: true,
  createdAt: new Date(),
  updatedAt: new Date(),
}

describe('switchCommand', () => {
  it('does send the new image profile, and the running image health path to an agent that takes it', () => {
    const announced: string[] = []
    const announces = (serverId: string, capability: string) => {
      announced.push(`${serverId} ${capability}`)
      return true
    }
    const { payload } = switchCommand({ profiles, announces }, client, 'mariadb', 'alfa/mol:2.0.0-master')
    expect(announced).toEqual([`${client.serverId} ${SWITCH_ROLLBACK_HEALTH}`])
    expect(payload.profile.healthPath).toBe('/up')
    expect(payload.rollbackHealthPath).toBe('/health')
    expect(payload).toMatchObject({ image: 'alfa/mol:2.0.0-master', memoryLimitMb: 384 })
    expect(payload.settings.version).toBe('2.0.0-master')
    expect(ClientSwitchPayload.safeParse(payload).success).toBe(true)
  })

  it('does leave the field out for an older agent, whose strict payload would refuse it', () => {
    const { payload } = switchCommand({ profiles, announces: () => false }, client, 'mariadb', 'alfa/demo:1.1.0')
    expect('rollbackHealthPath' in payload).toBe(false)
    expect(ClientSwitchPayload.safeParse(payload).success).toBe(true)
  })
})
