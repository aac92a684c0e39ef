import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../test-helpers.ts'
import { ensureEmptyInside } from './safe-files.ts'

describe('ensureEmptyInside (flag files)', () => {
  const dir = useTempDir('safe-files')

  it('makes the empty file with the mode asked, whatever the umask, and a repeat keeps it', async () => {
    const previous = process.umask(0o077)
    try {
      await ensureEmptyInside(dir(), 'lab.maintenance', 0o644)
    } finally {
      process.umask(previous)
    }
    const stat = await fs.stat(path.join(dir(), 'lab.maintenance'))
    expect({ size: stat.size, mode: stat.mode & 0o777 }).toEqual({ size: 0, mode: 0o644 })
    await ensureEmptyInside(dir(), 'lab.maintenance', 0o644)
    expect((await fs.stat(path.join(dir(), 'lab.maintenance'))).isFile()).toBe(true)
  })

  it('refuses a symlink or a directory in its place, and a name that leaves the directory', async () => {
    const target = path.join(dir(), 'elsewhere')
    await fs.writeFile(target, 'x')
    await fs.symlink(target, path.join(dir(), 'lab.maintenance'))
    await expect(ensureEmptyInside(dir(), 'lab.maintenance', 0o644)).rejects.toThrow(/symlink/)
    await fs.mkdir(path.join(dir(), 'lab.expired'))
    await expect(ensureEmptyInside(dir(), 'lab.expired', 0o644)).rejects.toThrow(/not a regular file/)
    await expect(ensureEmptyInside(dir(), '../lab.maintenance', 0o644)).rejects.toThrow(/refusing/)
    expect(await fs.readFile(target, 'utf8')).toBe('x')
  })
})
