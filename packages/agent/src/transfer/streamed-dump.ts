import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import fs from 'node:fs/promises'
import { Transform, type Readable, type Writable } from 'node:stream'
import { checkDumpHead, dumpRefusal, toolFailure, ZSTD_HEADER } from '../commands/client/snapshot.ts'
import { createEmptyInside, removeInside } from '../drivers/safe-files.ts'
import { ExecError } from '../exec.ts'

/** Buffered per stage: a little slack between the dump, the disk and the relay (one hiccup does not stall all). */
const CHUNK = 1024 * 1024
/** Bytes written between two background syncs of the kept copy. */
const SYNC_EVERY = 16 * 1024 * 1024

/**
 * What the dump is handed on in: mysqldump writes through stdio's 4 KiB buffer, so its pipe yields mostly 4 KiB
 * reads (measured: 4,300 reads for 50 MB, median 4,096 bytes), and each one would cost a disk write, an HTTP chunk
 * and a relay hop of its own on every process the bytes cross. Gathered into batches of this size, they cost one.
 */
const BATCH = 256 * 1024
/**
 * A compressed dump is handed on as zstd writes it: one write per 128 KiB block of SQL, a few hundred bytes to a few
 * tens of KiB. Gathered into BATCH bytes, a well-compressed dump would reach the target only near its end, and the
 * target's load would no longer overlap the dump.
 */
const PACKED_BATCH = 1

/**
 * A pass-through that counts and hashes what flows by and writes it to `file` on the way, with backpressure from
 * both the disk and the reader, in batches of `batch` bytes; the stream ends once the copy is written (synced to disk
 * afterwards, while the target finishes its load).
 */
function keepingCopy(file: string, syncer: FileHandle, batch: number) {
  const hash = createHash('sha256')
  let bytes = 0
  let unsynced = 0
  let syncing: Promise<unknown> | false = false
  let pending: Buffer[] = []
  let pendingBytes = 0
  const copy = createWriteStream(file, { flags: 'r+', highWaterMark: CHUNK })
  /** Hashes, counts and writes the gathered batch; `then` runs once the copy can take more. */
  const forward = (then: (batch: Buffer) => void) => {
    const batch = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    bytes += batch.length
    hash.update(batch)
    unsynced += batch.length
    // Synced as it goes (one sync at a time): the last sync, after the stream, then has little left to write.
    if (unsynced >= SYNC_EVERY && !syncing) {
      unsynced = 0
      // A failed background sync is not this stream's failure: the final sync after the stream reports it.
      syncing = syncer.sync().then(
        () => (syncing = false),
        () => (syncing = false),
      )
    }
    if (copy.write(batch)) then(batch)
    else copy.once('drain', () => then(batch))
  }
  const stream = new Transform({
    highWaterMark: CHUNK,
    transform(chunk: Buffer, _enc, done) {
      pending.push(chunk)
      pendingBytes += chunk.length
      if (pendingBytes < batch) return done()
      forward((batch) => done(null, batch))
    },
    flush(done) {
      const end = () => copy.end(() => done())
      if (pendingBytes === 0) return end()
      forward((batch) => {
        this.push(batch)
        end()
      })
    },
  })
  copy.once('error', (error) => stream.destroy(error))
  stream.once('close', () => copy.destroy())
  return { stream, digest: () => ({ bytes, sha256: hash.digest('hex') }) }
}

/**
 * A move's dump streamed while the engine's tool makes it (`DbAdmin.dumpTo`, or `dumpPackedTo` compressed), so that
 * the dump, the transfer and the target's load overlap instead of following one another. Its bytes are hashed and
 * written to the kept copy (`dir/name`, 0600, created exclusively) on their way to `send`: compressed, the copy is
 * compressed too (`.sql.zst`), and the plain text never passes through this process. Afterwards the copy is
 * verified: the tool exited 0 and every byte sent is on disk; plain, also as verifiedSnapshot verifies a dump file
 * (it begins with the tool's header and ends with its completion line); compressed, it begins with zstd's frame
 * (mysqldump's exit status says it ended: the completion line lies inside the frames). The bytes were hashed as
 * they were written, so they are not read back. Any failure cuts the stream (the target never sees a clean end, and
 * never gets the sha256 it must match), removes the copy and throws: DB_ERROR for the dump, TRANSFER_FAILED for the
 * send.
 */
export async function streamDump(
  tool: {
    /** Runs the dump into `sink` (DbAdmin.dumpTo, or dumpPackedTo when `packed`). */
    dump: (sink: Writable) => Promise<void>
    packed: boolean
    /** What a packed copy must begin with, when not zstd's own frame (a tablespaces archive's mark). */
    head?: { pattern: RegExp; like: string }
    /** The engine's completeness check of a plain dump file (DbAdmin.verify). */
    verify: (file: string) => Promise<void>
  },
  dbName: string,
  dir: string,
  name: string,
  send: (body: Readable) => Promise<void>,
): Promise<{ file: string; bytes: number; sha256: string }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const file = await createEmptyInside(dir, name, 0o600)
  const refuse = dumpRefusal(dbName, file)
  // Its own descriptor for the syncs and the checks: the stream's closes as soon as the copy is written.
  const handle = await fs.open(file, 'r')
  try {
    const kept = keepingCopy(file, handle, tool.packed ? PACKED_BATCH : BATCH)
    const [dumped, sent] = await Promise.allSettled([tool.dump(kept.stream), send(kept.stream)])
    if (dumped.status === 'rejected') {
      const error: unknown = dumped.reason
      // The tool's own failure names the dump; a tool stopped because the send failed is the send's failure.
      if (error instanceof ExecError && (error.exitCode !== null || sent.status === 'fulfilled'))
        throw toolFailure(refuse, error)
      if (sent.status === 'fulfilled') throw error
    }
    if (sent.status === 'rejected') throw sent.reason
    const { bytes, sha256 } = kept.digest()
    await handle.sync()
    const { size } = await handle.stat()
    if (size !== bytes && size > 0) throw refuse(`holds ${size} of the ${bytes} bytes sent`)
    if (tool.packed) await checkDumpHead(handle, size, refuse, tool.head ?? ZSTD_HEADER)
    else {
      await checkDumpHead(handle, size, refuse)
      await tool.verify(file)
    }
    await handle.close()
    return { file, bytes, sha256 }
  } catch (error) {
    await handle.close().catch(() => undefined)
    await removeInside(dir, name).catch(() => undefined)
    throw error
  }
}
