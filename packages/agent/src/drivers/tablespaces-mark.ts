import { Readable } from 'node:stream'

/**
 * The first bytes of a dump that crosses as tablespace files: a zstd skippable frame (magic 0x184D2A50, length 8,
 * "alfa-ibd"), which `zstd -d` passes over, so the rest is the compressed tar. A compressed SQL dump begins with
 * zstd's own frame magic instead: the receiver tells the two apart by these bytes alone.
 */
export const TABLESPACES_MARK = Buffer.concat([
  Buffer.from([0x50, 0x2a, 0x4d, 0x18, 8, 0, 0, 0]),
  Buffer.from('alfa-ibd', 'latin1'),
])
/** The kept copy's head, as snapshot.ts checks a dump's (the mark's bytes, escaped: it holds control characters). */
export const TABLESPACES_HEADER = {
  pattern: new RegExp(`^${[...TABLESPACES_MARK].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}`),
  like: 'a tablespaces archive',
}

/**
 * Whether `stream` begins with TABLESPACES_MARK, and the stream to read from then on: the bytes read to tell, then
 * the rest of `stream` (its errors with it; destroyed with it).
 */
export async function peekMark(stream: Readable): Promise<{ mark: boolean; rest: Readable }> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const head: Buffer[] = []
  let got = 0
  let ended = false
  while (got < TABLESPACES_MARK.length) {
    const next = await chunks.next()
    if (next.done) {
      ended = true
      break
    }
    head.push(next.value)
    got += next.value.length
  }
  const first = Buffer.concat(head)
  async function* all() {
    let finished = ended
    try {
      if (first.length > 0) yield first
      while (!finished) {
        const next = await chunks.next()
        if (next.done) finished = true
        else yield next.value
      }
    } finally {
      // Given up early (the reader failed): the source is destroyed, as pipe would.
      if (!finished) await chunks.return?.()
    }
  }
  return {
    mark: first.subarray(0, TABLESPACES_MARK.length).equals(TABLESPACES_MARK),
    rest: Readable.from(all(), { objectMode: false }),
  }
}
