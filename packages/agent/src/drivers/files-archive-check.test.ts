import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { tarOf } from '../test-helpers.ts'
import { checkFilesArchive, entryProblem } from './files-archive-check.ts'

const KEYS = new Set(['storage-app'])

describe('entryProblem', () => {
  it('accepts files, directories and links that stay inside their volume', () => {
    expect(entryProblem({ name: 'storage-app/', type: 'directory' }, KEYS)).toBeUndefined()
    expect(entryProblem({ name: 'storage-app/a/b.txt', type: 'file' }, KEYS)).toBeUndefined()
    expect(entryProblem({ name: './storage-app/a.txt', type: 'file' }, KEYS)).toBeUndefined()
    expect(entryProblem({ name: 'storage-app/l', type: 'symlink', linkname: 'a/b.txt' }, KEYS)).toBeUndefined()
    expect(entryProblem({ name: 'storage-app/a/l', type: 'symlink', linkname: '../x' }, KEYS)).toBeUndefined()
    expect(entryProblem({ name: 'storage-app/h', type: 'link', linkname: 'storage-app/a/b.txt' }, KEYS)).toBe(undefined)
  })

  it('refuses absolute paths, "..", links out, devices and unknown volumes', () => {
    expect(entryProblem({ name: '/etc/passwd', type: 'file' }, KEYS)).toBe('an absolute path')
    expect(entryProblem({ name: 'storage-app/../../x', type: 'file' }, KEYS)).toBe('a ".." segment')
    expect(entryProblem({ name: 'other/x', type: 'file' }, KEYS)).toMatch(/not one of this client's data paths/)
    expect(entryProblem({ name: 'storage-app/l', type: 'symlink', linkname: '/etc' }, KEYS)).toMatch(/absolute/)
    expect(entryProblem({ name: 'storage-app/l', type: 'symlink', linkname: '../..' }, KEYS)).toMatch(/out of/)
    expect(entryProblem({ name: 'storage-app/l', type: 'symlink', linkname: '..' }, KEYS)).toMatch(/out of/)
    expect(entryProblem({ name: 'storage-app/h', type: 'link', linkname: 'other/x' }, KEYS)).toMatch(/out of/)
    expect(entryProblem({ name: 'storage-app/h', type: 'link', linkname: '/etc/shadow' }, KEYS)).toMatch(/absolute/)
    expect(entryProblem({ name: 'storage-app/h', type: 'link', linkname: 'storage-app/../x' }, KEYS)).toMatch(/\.\./)
    expect(entryProblem({ name: 'storage-app/null', type: 'character-device' }, KEYS)).toMatch(/character-device/)
    expect(entryProblem({ name: 'storage-app/sda', type: 'block-device' }, KEYS)).toMatch(/block-device/)
    expect(entryProblem({ name: 'storage-app/p', type: 'fifo' }, KEYS)).toMatch(/fifo/)
  })
})

describe('checkFilesArchive', () => {
  it('counts entries, files and bytes and hashes the archive', async () => {
    const tar = await tarOf([
      { header: { name: 'storage-app/', type: 'directory' } },
      { header: { name: 'storage-app/a.txt', type: 'file' }, body: 'hello' },
      { header: { name: 'storage-app/b.txt', type: 'file' }, body: 'world!' },
    ])
    const summary = await checkFilesArchive(Readable.from([tar]), KEYS)
    expect(summary).toMatchObject({ entries: 3, files: 2, fileBytes: 11, archiveBytes: tar.length })
    expect(summary.keys).toEqual(['storage-app'])
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/)
    await expect(checkFilesArchive(Readable.from([tar]), KEYS, { files: 3 })).rejects.toThrow(/files 2, the sender/)
    await expect(checkFilesArchive(Readable.from([tar]), KEYS, { sha256: '0'.repeat(64) })).rejects.toThrow(/sha256/)
  })

  it('refuses the whole archive for one bad entry after good ones', async () => {
    const tar = await tarOf([
      { header: { name: 'storage-app/ok.txt', type: 'file' }, body: 'fine' },
      { header: { name: 'storage-app/evil', type: 'symlink', linkname: '../../../etc' } },
    ])
    await expect(checkFilesArchive(Readable.from([tar]), KEYS)).rejects.toThrow(
      /entry "storage-app\/evil" is a symlink pointing out of its volume.*nothing was written/,
    )
  })

  it('refuses a bad entry that carries a body (drained, no stray stream error)', async () => {
    const tar = await tarOf([
      { header: { name: 'storage-app/ok.txt', type: 'file' }, body: 'fine' },
      { header: { name: '/etc/alfa-pwned', type: 'file' }, body: 'x'.repeat(5000) },
      { header: { name: 'storage-app/later.txt', type: 'file' }, body: 'never reached' },
    ])
    await expect(checkFilesArchive(Readable.from([tar]), KEYS)).rejects.toThrow(
      /"\/etc\/alfa-pwned" is an absolute path/,
    )
  })

  it('refuses bytes that are not a tar', async () => {
    await expect(checkFilesArchive(Readable.from([Buffer.alloc(1024, 7)]), KEYS)).rejects.toThrow(/not a readable tar/)
  })
})
