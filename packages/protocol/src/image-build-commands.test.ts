import { describe, expect, it } from 'vitest'
import { commandSchema } from './commands.ts'
import type { ImageBuildPayload } from './image-build-commands.ts'

const build: ImageBuildPayload = {
  repoUrl: 'https://git.example.com/alfa/mol.git',
  branch: 'dev',
  channel: 'dev',
  imageRepo: 'alfa/mol',
  buildFront: true,
}

describe('image.build and image.prune payloads', () => {
  it('does accept a build from https, ssh, file:// and a local path', () => {
    for (const repoUrl of [build.repoUrl, 'git@git.example.com:alfa/mol.git', 'file:///srv/git/mol', '/srv/git/mol']) {
      expect(commandSchema.safeParse({ type: 'image.build', payload: { ...build, repoUrl } }).success, repoUrl).toBe(
        true,
      )
    }
  })

  it.each([
    ['repoUrl', { repoUrl: 'ext::sh -c touch% /tmp/pwned' }],
    ['repoUrl', { repoUrl: '--upload-pack=touch /tmp/x' }],
    ['repoUrl', { repoUrl: 'https://user:secret@git.example.com/alfa/mol.git' }],
    ['branch', { branch: '--orphan' }],
    ['branch', { branch: '-x' }],
    ['branch', { branch: 'a;b' }],
    ['channel', { channel: 'staging' }],
    ['imageRepo', { imageRepo: 'alfa/mol:1.0' }],
    ['imageRepo', { imageRepo: '--privileged' }],
  ])('does refuse a hostile %s', (_field, patch) => {
    expect(commandSchema.safeParse({ type: 'image.build', payload: { ...build, ...patch } }).success).toBe(false)
  })

  it('does bound prune and refuse an unknown field', () => {
    const prune = { imageRepo: 'alfa/mol', keepPerChannel: 3, inUse: ['alfa/mol:1.0.1-dev'], dryRun: true }
    expect(commandSchema.safeParse({ type: 'image.prune', payload: prune }).success).toBe(true)
    expect(commandSchema.safeParse({ type: 'image.prune', payload: { ...prune, keepPerChannel: -1 } }).success).toBe(
      false,
    )
    expect(commandSchema.safeParse({ type: 'image.prune', payload: { ...prune, force: true } }).success).toBe(false)
  })
})
