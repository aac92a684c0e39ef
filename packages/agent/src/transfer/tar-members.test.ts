import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tarReader, type TarMember } from './tar-members.ts'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tar-members-'))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/** An archive GNU tar makes of `names` in `dir` (as the source agent makes it). */
const tarOf = (...args: string[]) => execFileSync('tar', ['--format=gnu', '-c', '-f', '-', '-C', dir, ...args])

/** Reads `archive` in pieces of `piece` bytes; returns each member with its bytes. */
async function read(archive: Buffer, piece = 700) {
  const got: { member: TarMember; bytes: Buffer }[] = []
  let parts: Buffer[] = []
  const reader = tarReader({
    open: () => {
      parts = []
    },
    data: (p) => {
      parts.push(Buffer.from(p))
    },
    close: (member) => {
      got.push({ member, bytes: Buffer.concat(parts) })
    },
  })
  const chunks: Buffer[] = []
  for (let i = 0; i < archive.length; i += piece) chunks.push(archive.subarray(i, i + piece))
  await pipeline(Readable.from(chunks), reader)
  return got
}

describe('tarReader', () => {
  it("hands over GNU tar's regular files in order, byte for byte, whatever the pieces", async () => {
    const big = Buffer.alloc(70_000).map((_, i) => (i * 7) % 251)
    await fs.writeFile(path.join(dir, 'schema.sql'), 'CREATE TABLE t (id INT);\n')
    await fs.writeFile(path.join(dir, 't.cfg'), '')
    await fs.writeFile(path.join(dir, 't.ibd'), big)
    const archive = tarOf('schema.sql', 't.cfg', 't.ibd')
    for (const piece of [1, 511, 512, 4096, archive.length]) {
      const got = await read(archive, piece)
      expect(got.map((g) => [g.member.name, g.member.size])).toEqual([
        ['schema.sql', 25],
        ['t.cfg', 0],
        ['t.ibd', 70_000],
      ])
      expect(got[2]!.bytes.equals(big)).toBe(true)
    }
  })

  it('refuses links, directories and names with a slash: nothing can point outside where it writes', async () => {
    await fs.writeFile(path.join(dir, 'a.ibd'), 'x')
    await fs.symlink('/etc/passwd', path.join(dir, 'link.ibd'))
    await expect(read(tarOf('link.ibd'))).rejects.toThrow(/link\.ibd.*not a regular file/)
    await fs.mkdir(path.join(dir, 'sub'))
    await fs.writeFile(path.join(dir, 'sub', 'b.ibd'), 'y')
    await expect(read(tarOf('sub'))).rejects.toThrow(/not a regular file/)
    await expect(read(tarOf('sub/b.ibd'))).rejects.toThrow(/sub\/b\.ibd.*not a plain file name/)
    await fs.link(path.join(dir, 'a.ibd'), path.join(dir, 'hard.ibd'))
    await expect(read(tarOf('a.ibd', 'hard.ibd'))).rejects.toThrow(/hard\.ibd.*not a regular file/)
  })

  it('fails a cut archive, a damaged header and bytes after its end instead of reading less', async () => {
    await fs.writeFile(path.join(dir, 't.ibd'), Buffer.alloc(5000, 1))
    const archive = tarOf('t.ibd')
    // Cut inside the member, and after it but before the end-of-archive blocks.
    await expect(read(archive.subarray(0, 3000))).rejects.toThrow(/cut short/)
    await expect(read(archive.subarray(0, 512 + 5120))).rejects.toThrow(/cut short/)
    const damaged = Buffer.from(archive)
    damaged[10] = damaged[10]! ^ 0xff
    await expect(read(damaged)).rejects.toThrow(/Invalid tar header/)
    const trailing = Buffer.concat([archive, Buffer.from('more')])
    await expect(read(trailing)).rejects.toThrow(/cut short/)
  })

  it('stops at the first error its sink throws (a name the receiver refuses)', async () => {
    await fs.writeFile(path.join(dir, 'evil.ibd'), 'x')
    const reader = tarReader({
      open: (m) => {
        throw new Error(`refused ${m.name}`)
      },
      data: () => undefined,
      close: () => undefined,
    })
    await expect(pipeline(Readable.from([tarOf('evil.ibd')]), reader)).rejects.toThrow('refused evil.ibd')
  })
})
