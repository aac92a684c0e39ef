// Hostile files archives against a real Docker volume: each is refused as a whole before Docker writes a byte, even
// when good entries come first; the volume reads back exactly as before (same archive sha256, same files).
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import Docker from 'dockerode'
import { createClientFiles, type ClientFiles } from '@alfa/agent'
import tarStream from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBaseImages, removeVolumesByLabel } from '../support/docker.ts'
import { makeTempDir } from '../support/process.ts'
import { tarOf, type TarEntryHeader } from '../../packages/agent/src/test-helpers.ts'

const docker = new Docker()
const serverId = randomUUID()
const client = { slug: 'files-hostile', clientId: randomUUID() }
const DATA_PATHS = ['storage/app']
let dir: string
let image: string
let files: ClientFiles

/** The volume's archive now: its sha256 and entry names. */
async function volumeNow(): Promise<{ sha256: string; names: string[] }> {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk)
      done()
    },
  })
  const summary = await files.pack(client, sink, { image })
  const names: string[] = []
  for await (const entry of Readable.from([Buffer.concat(chunks)]).pipe(tarStream.extract())) {
    names.push(entry.header.name)
    entry.resume()
  }
  return { sha256: summary.sha256, names: names.sort() }
}

const good = { header: { name: 'storage-app/new.txt', type: 'file' as const }, body: 'would be written first' }

beforeAll(async () => {
  image = (await ensureBaseImages(docker)).busybox
  dir = await makeTempDir('files-hostile')
  files = createClientFiles({ docker, serverId, spoolDir: path.join(dir, 'spool') })
  const seed = await tarOf([
    { header: { name: 'storage-app/', type: 'directory' } },
    { header: { name: 'storage-app/keep.txt', type: 'file' }, body: 'original' },
  ])
  const summary = await files.unpack(client, DATA_PATHS, Readable.from([seed]), { image })
  expect(summary).toMatchObject({ entries: 2, files: 1, fileBytes: 8 })
})
afterAll(async () => {
  await removeVolumesByLabel(`alfa.server=${serverId}`, docker)
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

describe('unpacking a hostile files archive', () => {
  const cases: [string, { header: TarEntryHeader; body?: string }[], RegExp][] = [
    ['an absolute path', [good, { header: { name: '/etc/alfa-pwned', type: 'file' }, body: 'x' }], /absolute path/],
    ['a ".." path', [good, { header: { name: 'storage-app/../../alfa-pwned', type: 'file' }, body: 'x' }], /"\.\."/],
    [
      'a symlink out, then a file through it',
      [
        good,
        { header: { name: 'storage-app/evil', type: 'symlink', linkname: '../../../../etc' } },
        { header: { name: 'storage-app/evil/alfa-pwned', type: 'file' }, body: 'x' },
      ],
      /symlink pointing out of its volume/,
    ],
    [
      'an absolute symlink',
      [good, { header: { name: 'storage-app/evil', type: 'symlink', linkname: '/etc/passwd' } }],
      /symlink to the absolute path/,
    ],
    [
      'a hard link out',
      [good, { header: { name: 'storage-app/hl', type: 'link', linkname: '../etc/shadow' } }],
      /hard link through|out of its volume/,
    ],
    [
      'a device node',
      [good, { header: { name: 'storage-app/null', type: 'character-device', devmajor: 1, devminor: 3 } }],
      /character-device entry/,
    ],
    ['a FIFO', [good, { header: { name: 'storage-app/pipe', type: 'fifo' } }], /fifo entry/],
    ['another volume', [good, { header: { name: 'other/x', type: 'file' }, body: 'x' }], /not one of this client/],
  ]

  it.each(cases)('refuses %s with nothing written', async (_what, entries, why) => {
    const before = await volumeNow()
    const tar = await tarOf(entries)
    await expect(files.unpack(client, DATA_PATHS, Readable.from([tar]), { image })).rejects.toThrow(why)
    expect(await volumeNow()).toEqual(before)
    expect(before.names).toEqual(['storage-app', 'storage-app/keep.txt'])
    // The spooled copy is gone too.
    expect(await fs.readdir(path.join(dir, 'spool'))).toEqual([])
  })

  it('refuses a good archive whose sha256 or counts differ from what the sender said', async () => {
    const before = await volumeNow()
    const tar = await tarOf([good])
    const bad = { expected: { sha256: '0'.repeat(64) }, image }
    await expect(files.unpack(client, DATA_PATHS, Readable.from([tar]), bad)).rejects.toThrow(/sha256/)
    const badCount = { expected: { files: 2 }, image }
    await expect(files.unpack(client, DATA_PATHS, Readable.from([tar]), badCount)).rejects.toThrow(/files 1/)
    expect(await volumeNow()).toEqual(before)
    // The same archive, honestly described, is written.
    const ok = await files.unpack(client, DATA_PATHS, Readable.from([tar]), { image, expected: { files: 1 } })
    expect(ok.files).toBe(1)
    expect((await volumeNow()).names).toEqual(['storage-app', 'storage-app/keep.txt', 'storage-app/new.txt'])
  })
})
