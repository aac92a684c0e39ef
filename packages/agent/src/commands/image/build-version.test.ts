import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { computeVersion, readBaseVersion } from './build-version.ts'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'build-version-'))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('readBaseVersion', () => {
  it('does prefer VERSION, then package.json, then composer.json', async () => {
    await fs.writeFile(path.join(dir, 'composer.json'), JSON.stringify({ version: '3.0.0' }))
    expect(await readBaseVersion(dir)).toEqual({ version: '3.0.0', source: 'composer.json' })
    await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'mol', version: '2.9.1' }))
    expect(await readBaseVersion(dir)).toEqual({ version: '2.9.1', source: 'package.json' })
    await fs.writeFile(path.join(dir, 'VERSION'), '2.3.0\nignored\n')
    expect(await readBaseVersion(dir)).toEqual({ version: '2.3.0', source: 'VERSION' })
  })

  it('does refuse a hostile or missing version and a symlinked VERSION', async () => {
    await expect(readBaseVersion(dir)).rejects.toThrow(/states no version/)
    await fs.writeFile(path.join(dir, 'VERSION'), '1.0;$(id)')
    await expect(readBaseVersion(dir)).rejects.toThrow(/not like 2.3.0/)
    await fs.rm(path.join(dir, 'VERSION'))
    await fs.symlink('/etc/hostname', path.join(dir, 'VERSION'))
    await expect(readBaseVersion(dir)).rejects.toThrow(/symlink/)
  })
})

describe('computeVersion', () => {
  it('does append the build number and the channel', () => {
    expect(computeVersion('2.3.0', 57, 'dev')).toBe('2.3.0.57-dev')
    expect(computeVersion('2.3.0-rc.1', 58, 'master')).toBe('2.3.0-rc.1.58-master')
  })
})
