import { once } from 'node:events'
import { PassThrough, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tarStream from 'tar-stream'

const BLOCK = 512
/** Tar ends an archive with two zero blocks: fewer after the last member means the archive was cut there. */
const END_OF_ARCHIVE = 2 * BLOCK

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

/** tar-stream 3 sets `byteOffset` (where the member's bytes begin in the archive); its types do not declare it. */
type Located = tarStream.Header & { byteOffset?: number }

/** A member's name, or why it is refused: the archives read here hold flat regular files only. */
function plainFile(header: tarStream.Header): string {
  const name = header.name
  if (header.type !== 'file') throw new Error(`tar member ${JSON.stringify(name)} is not a regular file`)
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw new Error(`tar member ${JSON.stringify(name)} is not a plain file name`)
  return name
}

/**
 * Reads a tar stream written into it (tar-stream parses it: ustar, GNU and pax alike) and hands its regular files to
 * `sink`; anything else (a link, a directory, a device, a name with a slash) fails the stream, so there is nothing
 * to resolve and nothing can point outside where the sink writes. The stream must end with tar's end-of-archive
 * blocks: tar-stream accepts an archive cut between two members, this reader fails it (a cut archive is an error,
 * never a shorter one). It finishes only once the sink closed the last member.
 */
export function tarReader(sink: TarSink): Writable {
  const extract = tarStream.extract()
  const feed = new PassThrough({ highWaterMark: 1024 * 1024 })
  let received = 0
  let membersEnd = 0

  async function take(header: Located, body: AsyncIterable<unknown>): Promise<void> {
    const member = { name: plainFile(header), size: header.size ?? 0 }
    if (typeof header.byteOffset !== 'number') throw new Error('tar-stream did not say where a member begins')
    const end = header.byteOffset + Math.ceil(member.size / BLOCK) * BLOCK
    await sink.open(member)
    for await (const piece of body) await sink.data(piece as Buffer)
    await sink.close(member)
    membersEnd = end
  }

  extract.on('entry', (header, body, next) => {
    // A refused member fails the whole parse, which destroys the body; its error is the parse's, said once.
    body.on('error', () => undefined)
    take(header, body).then(() => next(), next)
  })
  const reading = pipeline(feed, extract)
  reading.catch(() => undefined) // said through write() and final()

  return new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      received += chunk.length
      if (feed.write(chunk)) return done()
      Promise.race([once(feed, 'drain'), reading]).then(() => done(), done)
    },
    final(done) {
      feed.end()
      reading.then(
        () => done(received - membersEnd >= END_OF_ARCHIVE ? null : cutShort()),
        (error: Error) => done(/end of data/i.test(error.message) ? cutShort() : error),
      )
    },
    destroy(error, done) {
      feed.destroy(error ?? undefined)
      done(error)
    },
  })
}

const cutShort = () => new Error('the tar archive was cut short (no end-of-archive blocks)')
