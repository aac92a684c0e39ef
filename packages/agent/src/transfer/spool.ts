import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import { download, type MasterChannel } from './master-channel.ts'

/** Where received transfers wait until they are checked and used: inside the agent's 0700 state dir. */
export const spoolDir = (stateDir: string) => path.join(stateDir, 'transfers')
const partPath = (stateDir: string, id: string) => path.join(spoolDir(stateDir), `${id}.part`)
const donePath = (stateDir: string, id: string) => path.join(spoolDir(stateDir), `${id}.bin`)

/** A pass-through that counts and hashes what flows by (`highWaterMark`: bytes it may buffer, Node's default). */
export function hashing(highWaterMark?: number) {
  const hash = createHash('sha256')
  let bytes = 0
  const stream = new Transform({
    ...(highWaterMark ? { highWaterMark } : {}),
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length
      hash.update(chunk)
      done(null, chunk)
    },
  })
  return { stream, digest: () => ({ bytes, sha256: hash.digest('hex') }) }
}

/**
 * Reads transfer `id` from the relay into `<spool>/<id>.part`, hashing as it goes; only a stream that ended
 * cleanly is renamed to `<id>.bin`. A broken one is removed: a transfer is retried from the start, never resumed
 * from a half-written file.
 */
export async function receiveIntoSpool(
  ch: MasterChannel,
  stateDir: string,
  id: string,
  token: string,
  signal: AbortSignal,
): Promise<{ bytes: number; sha256: string }> {
  await fs.mkdir(spoolDir(stateDir), { recursive: true, mode: 0o700 })
  const part = partPath(stateDir, id)
  try {
    const res = await download(ch, id, token, signal)
    const h = hashing()
    await pipeline(res, h.stream, createWriteStream(part, { flags: 'wx', mode: 0o600 }), { signal }).catch(
      (error: unknown) => {
        throw new CommandError(
          wireError(
            'TRANSFER_FAILED',
            `transfer ${id} broke off: ${error instanceof Error ? error.message : String(error)}`,
          ),
        )
      },
    )
    const handle = await fs.open(part, 'r')
    await handle.sync().finally(() => handle.close())
    await fs.rename(part, donePath(stateDir, id))
    return h.digest()
  } catch (error) {
    await fs.rm(part, { force: true })
    throw error
  }
}

/**
 * The spooled transfer `id`, after its bytes were read back and found to hash to `sha256` (what the sender sent).
 * A mismatch removes the spool and throws TRANSFER_FAILED: nothing of a corrupted transfer is ever used.
 */
export async function checkedSpool(stateDir: string, id: string, sha256: string, signal: AbortSignal) {
  const file = donePath(stateDir, id)
  const hash = createHash('sha256')
  let bytes = 0
  try {
    for await (const chunk of createReadStream(file, { signal }) as AsyncIterable<Buffer>) {
      bytes += chunk.length
      hash.update(chunk)
    }
  } catch (error) {
    throw new CommandError(
      wireError('TRANSFER_FAILED', `transfer ${id} is not here: ${error instanceof Error ? error.message : error}`),
    )
  }
  const got = { bytes, sha256: hash.digest('hex') }
  if (got.sha256 !== sha256) {
    await fs.rm(file, { force: true })
    throw new CommandError(
      wireError('TRANSFER_FAILED', `transfer ${id} arrived other than sent (sha256 ${got.sha256}, sent ${sha256})`, {
        bytes: got.bytes,
      }),
    )
  }
  return { file, bytes: got.bytes }
}

/** Removes transfer `id`'s spool, whole or partial; true when there was one. */
export async function discardSpool(stateDir: string, id: string): Promise<boolean> {
  let removed = false
  for (const file of [partPath(stateDir, id), donePath(stateDir, id)]) {
    removed =
      (await fs.rm(file).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false
          throw error
        },
      )) || removed
  }
  return removed
}
