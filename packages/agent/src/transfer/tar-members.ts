import { Writable } from 'node:stream'

const BLOCK = 512

/** One regular file of the archive, announced before its bytes. */
export interface TarMember {
  name: string
  size: number
}

/**
 * What the reader hands each member to: `open` before its bytes (it may refuse the name by throwing), `data` per
 * piece, `close` after the last; each may be async, and the archive waits (backpressure reaches the sender).
 */
export interface TarSink {
  open(member: TarMember): Promise<void> | void
  data(piece: Buffer): Promise<void> | void
  close(member: TarMember): Promise<void> | void
}

/** A size field: octal digits, or GNU's base-256 (first byte 0x80) for members of 8 GiB and more. */
function sizeOf(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) {
    let n = 0
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!
    if (!Number.isSafeInteger(n)) throw new Error('a tar member larger than this reader counts')
    return n
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim()
  if (!/^[0-7]+$/.test(text)) throw new Error(`a tar size field that is not octal: ${JSON.stringify(text)}`)
  return parseInt(text, 8)
}

/** The header's checksum: the sum of its bytes with the checksum field read as spaces. */
function checksumOk(header: Buffer): boolean {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!
  const stored = parseInt(
    header
      .subarray(148, 156)
      .toString('latin1')
      .replace(/[\0 ]+/g, ''),
    8,
  )
  return stored === sum
}

/**
 * Reads a tar stream (ustar or GNU, as GNU tar writes them) and hands its regular files to `sink`; anything else (a
 * link, a directory, a device, a long-name or pax record, a name with a slash) fails the stream: the archives read
 * here hold flat files only, so there is nothing to resolve and nothing can point outside where the sink writes.
 * The stream must end with tar's end-of-archive blocks: a cut archive is an error, never a shorter one.
 */
export function tarReader(sink: TarSink): Writable {
  let buffered: Buffer = Buffer.alloc(0)
  let member: (TarMember & { left: number; padding: number }) | undefined
  let ended = false

  async function consume(): Promise<void> {
    for (;;) {
      if (ended) {
        if (buffered.some((b) => b !== 0)) throw new Error('bytes after the end of the tar archive')
        buffered = Buffer.alloc(0)
        return
      }
      if (member && member.left > 0) {
        if (buffered.length === 0) return
        const piece = buffered.subarray(0, Math.min(member.left, buffered.length))
        buffered = buffered.subarray(piece.length)
        member.left -= piece.length
        await sink.data(piece)
        continue
      }
      if (member) {
        if (buffered.length < member.padding) return
        buffered = buffered.subarray(member.padding)
        const done = member
        member = undefined
        await sink.close(done)
        continue
      }
      if (buffered.length < BLOCK) return
      const header = buffered.subarray(0, BLOCK)
      if (header.every((b) => b === 0)) {
        // The first of the two zero blocks that end an archive: whatever follows must be zeros too.
        ended = true
        buffered = buffered.subarray(BLOCK)
        continue
      }
      if (!checksumOk(header)) throw new Error('a tar header whose checksum does not match')
      const type = String.fromCharCode(header[156]!)
      const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '')
      const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '')
      if (type !== '0' && type !== '\0') throw new Error(`tar member ${JSON.stringify(name)} is not a regular file`)
      if (prefix !== '' || name === '' || name.includes('/'))
        throw new Error(`tar member ${JSON.stringify(name)} is not a plain file name`)
      const size = sizeOf(header.subarray(124, 136))
      buffered = buffered.subarray(BLOCK)
      member = { name, size, left: size, padding: (BLOCK - (size % BLOCK)) % BLOCK }
      await sink.open({ name, size })
    }
  }

  return new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      consume().then(() => done(), done)
    },
    final(done) {
      if (!ended || member) return done(new Error('the tar archive was cut short (no end-of-archive blocks)'))
      done()
    },
  })
}
