import { describe, expect, it } from 'vitest'
import { readBuildConfig } from './build-config.ts'

describe('readBuildConfig', () => {
  it('does default to dev/master, alfa/mol and 3 kept images, without a repository', () => {
    expect(readBuildConfig({})).toEqual({
      devBranch: 'dev',
      prodBranch: 'master',
      imageRepo: 'alfa/mol',
      keepPerChannel: 3,
    })
  })

  it('does accept https, ssh, file:// and local repositories', () => {
    for (const url of ['https://git.example.com/alfa/mol.git', 'git@git.example.com:alfa/mol.git', '/srv/git/mol']) {
      expect(readBuildConfig({ ALFA_APP_GIT_URL: url }).gitUrl).toBe(url)
    }
  })

  it.each([
    ['ALFA_APP_GIT_URL', 'ext::sh -c touch% /tmp/pwned'],
    ['ALFA_APP_GIT_URL', '--upload-pack=touch /tmp/x'],
    ['ALFA_APP_DEV_BRANCH', '--orphan'],
    ['ALFA_APP_PROD_BRANCH', '-x'],
    ['ALFA_APP_DEV_BRANCH', 'a;b'],
    ['ALFA_APP_IMAGE_REPO', 'alfa/mol:latest'],
    ['ALFA_KEEP_IMAGES', '-1'],
  ])('does refuse %s=%s, naming the variable and not the value', (name, value) => {
    expect(() => readBuildConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `))
    try {
      readBuildConfig({ [name]: value })
    } catch (error) {
      expect((error as Error).message).not.toContain(value)
    }
  })
})
