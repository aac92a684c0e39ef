import { execFileSync } from 'node:child_process'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { innodbCapability } from '@alfa/protocol'
import { peekMark, TABLESPACES_HEADER, TABLESPACES_MARK } from './tablespaces-mark.ts'

/** What a consumer reads next (the receiver pipes the stream on, so read as pipe reads: 'data' events). */
const readAll = (s: Readable) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = []
    s.on('data', (p: Buffer) => parts.push(p))
      .once('end', () => resolve(Buffer.concat(parts)))
      .once('error', reject)
  })

describe('the tablespaces mark', () => {
  it('is a zstd skippable frame: zstd -d passes over it and unpacks what follows', () => {
    const packed = execFileSync('zstd', ['-q', '-c'], { input: 'CREATE TABLE t (id INT);\n' })
    const unpacked = execFileSync('zstd', ['-d', '-q', '-c'], { input: Buffer.concat([TABLESPACES_MARK, packed]) })
    expect(unpacked.toString()).toBe('CREATE TABLE t (id INT);\n')
    expect(TABLESPACES_HEADER.pattern.test(TABLESPACES_MARK.toString('latin1'))).toBe(true)
    // A compressed SQL dump begins with zstd's frame magic, never with the mark.
    expect(packed.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
  })

  it('is found without consuming anything, also when it arrives byte by byte', async () => {
    const body = Buffer.from('the rest')
    for (const input of [Buffer.concat([TABLESPACES_MARK, body]), Buffer.from('(\xb5/\xfd then SQL', 'latin1')]) {
      const stream = new PassThrough()
      const found = peekMark(stream)
      for (const byte of input) {
        stream.write(Buffer.from([byte]))
        await new Promise((r) => setImmediate(r))
      }
      stream.end()
      const { mark, rest } = await found
      expect(mark).toBe(input.subarray(0, 4).equals(TABLESPACES_MARK.subarray(0, 4)))
      expect((await readAll(rest)).equals(input)).toBe(true)
    }
  })

  it('is not found in a stream shorter than itself, which is handed on whole', async () => {
    const { mark, rest } = await peekMark(Readable.from([Buffer.from('ab')]))
    expect(mark).toBe(false)
    expect((await readAll(rest)).toString()).toBe('ab')
  })
})

describe('innodbCapability', () => {
  it("names the release and page size, and nothing for what is not MariaDB's version", () => {
    expect(innodbCapability('10.11.19-MariaDB-0+deb12u1', 16384)).toBe('transfer.innodb.10.11.19.16k')
    expect(innodbCapability('11.4.2-MariaDB', 65536)).toBe('transfer.innodb.11.4.2.64k')
    expect(innodbCapability('garbage', 16384)).toBeUndefined()
    expect(innodbCapability('10.11.19', 1000)).toBeUndefined()
  })
})
