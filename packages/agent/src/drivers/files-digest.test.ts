import { Readable } from 'node:stream'
import tarStream from 'tar-stream'
import { describe, expect, it } from 'vitest'
import { compareDigests, fileDigests } from './files-digest.ts'

describe('fileDigests', () => {
  it('hashes each regular file of a tar and ignores directories and links', async () => {
    const pack = tarStream.pack()
    pack.entry({ name: 'storage-app/', type: 'directory' })
    pack.entry({ name: 'storage-app/a.txt' }, 'abc')
    pack.entry({ name: 'storage-app/l', type: 'symlink', linkname: 'a.txt' })
    pack.finalize()
    const got = await fileDigests(Readable.from(pack))
    expect([...got.keys()]).toEqual(['storage-app/a.txt'])
    expect(got.get('storage-app/a.txt')).toEqual({
      size: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    })
  })
})

describe('compareDigests', () => {
  const d = (size: number, c: string) => ({ size, sha256: c.repeat(64) })
  it('counts the wanted files found with their size and hash, and names the missing and differing ones', () => {
    const want = new Map([
      ['k/a', d(1, 'a')],
      ['k/b', d(2, 'b')],
      ['k/c', d(3, 'c')],
      ['k/d', d(4, 'd')],
    ])
    const got = new Map([
      ['k/a', d(1, 'a')],
      ['k/b', d(2, 'f')],
      ['k/d', d(5, 'd')],
      ['k/e', d(9, 'e')],
    ])
    expect(compareDigests(want, got)).toEqual({
      files: 1,
      fileBytes: 1,
      missing: ['k/c'],
      differing: ['k/b', 'k/d'],
      extra: 1,
    })
    expect(compareDigests(want, want)).toMatchObject({ files: 4, fileBytes: 10, missing: [], differing: [] })
  })
})
