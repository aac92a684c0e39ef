import { createReadStream } from 'node:fs'
import type { Readable, Writable } from 'node:stream'
import { dbNameForSlug, wireError, type TransferSendResult } from '@alfa/protocol'
import { CommandError, dockerFailure, type CommandHandler, type HandlerDeps } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { rowCounts } from '../../drivers/row-counts.ts'
import { hashing } from '../../transfer/spool.ts'
import { upload } from '../../transfer/master-channel.ts'
import { streamDump } from '../../transfer/streamed-dump.ts'
import { removeInside } from '../../drivers/safe-files.ts'
import { clientDrivers } from '../client/drivers.ts'
import { verifiedSnapshot } from '../client/snapshot.ts'
import { moveArchiveName, moveDumpName, moveTablespacesName } from '../../transfer/move-files.ts'
import { TABLESPACES_HEADER } from '../../drivers/tablespaces-mark.ts'
import { tablespacesChoice } from './tablespaces-choice.ts'
import { recordKeptDump } from '../../kept-dumps.ts'

/** The master channel, or UNSUPPORTED when this agent runs without one (tests of single handlers). */
export function channelOf(deps: HandlerDeps) {
  if (!deps.master) throw new CommandError(wireError('UNSUPPORTED', 'this agent has no channel to the master'))
  return deps.master
}

/**
 * transfer.send: streams one source to the master's relay. A dump is made and verified first, into the backup dir,
 * where it stays (a move's final dump is kept on the source); its rows per table travel in the result so the target
 * proves its restore against them. The client's files are packed the same way (a tar of its data volumes, empty when
 * it has none, kept beside the dump) and their counts travel in the result. An image is `docker save` streamed as
 * Docker produces it.
 */
export const transferSend: CommandHandler<'transfer.send'> = async (ctx, deps) => {
  const { transferId, token, source } = ctx.payload
  const master = channelOf(deps)
  const { backupDir } = deps.config
  const keep = ctx.payload.keepCopy !== false
  /**
   * Before a dump or files archive is written: journaled (a restart removes it half-written) and, when it is to be
   * kept, recorded first, so no kept file lacks the record by which it goes moveDumpKeepDays later (kept-dumps.ts).
   */
  const writing = async (step: 'dump' | 'files', name: string) => {
    await ctx.checkpoint({ step, writing: name })
    if (keep) await recordKeptDump(deps.config.stateDir, name, deps.now())
  }
  /** The copy of a dump or files archive once sent: kept (its path goes in the result) unless told otherwise. */
  const settle = async (name: string, file: string) => {
    if (keep) return { file }
    await removeInside(backupDir, name)
    ctx.log(`${file} removed once sent (this server keeps no copy)`)
    return {}
  }
  let body: Readable
  let extra: Pick<TransferSendResult, 'rowCounts' | 'archive'> = {}
  let packedSha256: string | undefined
  /** The dump or files archive written to the backup dir for this send, if any. */
  let written: { name: string; file: string } | undefined
  if (source.kind === 'dump') {
    const db = dbAdminFor(source.dbEngine, deps)
    const dbName = dbNameForSlug(source.slug)
    const packed = ctx.payload.compress === 'zstd'
    // Asked for (both servers run the same MariaDB with its files on their disks), the tables' files cross instead
    // of SQL when every table allows it and their export lock is taken; otherwise SQL (tablespacesChoice).
    const files = packed && ctx.payload.tablespaces ? await tablespacesChoice(db, dbName, ctx) : undefined
    const name = files
      ? moveTablespacesName(source.slug, deps.now())
      : moveDumpName(source.slug, source.dbEngine, deps.now(), packed)
    const dumpTo = files
      ? (_n: string, sink: Writable, signal?: AbortSignal) => files.locked.to(sink, signal)
      : packed
        ? db.dumpPackedTo
        : db.dumpTo
    if (packed && !dumpTo)
      throw new CommandError(wireError('UNSUPPORTED', `a ${source.dbEngine} dump is not sent compressed by this agent`))
    if (dumpTo) {
      try {
        // Streamed while it is made: the dump, the transfer and the target's load overlap.
        await writing('dump', name)
        const started = deps.now()
        const tool = {
          dump: (sink: Writable) => dumpTo(dbName, sink, ctx.signal),
          packed,
          ...(files ? { head: TABLESPACES_HEADER } : {}),
          verify: (file: string) => db.verify(file, ctx.signal),
        }
        // Counted while the dump runs rather than after it: the freeze holds the rows still (a copy's origin is not
        // frozen, and its counts hold the copy to nothing).
        const counting = rowCounts(source.dbEngine, deps.config, dbName)
        counting.catch(() => undefined)
        const send = (stream: Readable) => upload(master, transferId, token, stream, ctx.signal)
        const dump = await streamDump(tool, dbName, backupDir, name, send)
        const counts = await counting
        const seconds = Math.max(1, deps.now() - started) / 1000
        const how = files
          ? ` (${files.tables.length} tables' InnoDB files, compressed with zstd)`
          : packed
            ? ' (compressed with zstd)'
            : ''
        ctx.log(
          `dump of ${dbName} streamed and verified: ${dump.bytes} bytes${how} in ${seconds.toFixed(1)} s, sha256 ` +
            `${dump.sha256}, written to ${dump.file}`,
        )
        const kind = files ? { tablespaces: true as const } : {}
        return {
          bytes: dump.bytes,
          sha256: dump.sha256,
          rowCounts: counts,
          ...kind,
          ...(await settle(name, dump.file)),
        }
      } finally {
        await files?.locked.release()
      }
    }
    await writing('dump', name)
    const dump = await verifiedSnapshot(db, dbName, backupDir, name, ctx.signal)
    const counts = await rowCounts(source.dbEngine, deps.config, dbName)
    ctx.log(`dump of ${dbName} verified: ${dump.size} bytes, sha256 ${dump.sha256}, written to ${dump.file}`)
    extra = { rowCounts: counts }
    written = { name, file: dump.file }
    body = createReadStream(dump.file)
  } else if (source.kind === 'image') {
    body = await deps.docker
      .getImage(source.image)
      .get()
      .then((stream) => stream as Readable)
      .catch((error: unknown) => {
        throw dockerFailure(error, `saving ${source.image}`)
      })
  } else {
    const { files } = clientDrivers(deps, ctx.signal)
    const name = moveArchiveName(source.slug, deps.now())
    await writing('files', name)
    const packed = await files.packToFile({ slug: source.slug, clientId: source.clientId }, backupDir, name, {
      signal: ctx.signal,
    })
    if (packed.skipped.length > 0) ctx.log(`left out of the archive (not files): ${packed.skipped.join(', ')}`)
    ctx.log(
      `files of ${source.slug} packed: ${packed.files} files, ${packed.fileBytes} bytes in ${packed.entries} entries` +
        ` (${packed.keys.join(', ') || 'no data volume'}), written to ${packed.file}`,
    )
    extra = { archive: { entries: packed.entries, files: packed.files, fileBytes: packed.fileBytes } }
    written = { name, file: packed.file }
    packedSha256 = packed.sha256
    body = createReadStream(packed.file)
  }
  const h = hashing()
  const started = deps.now()
  try {
    await upload(master, transferId, token, body.pipe(h.stream), ctx.signal)
  } catch (error) {
    // A failed attempt's copy serves nothing: the next attempt writes its own.
    if (written) await removeInside(backupDir, written.name).catch(() => undefined)
    throw error
  }
  const sent = h.digest()
  // The kept archive is read back whole by the send itself: it must be the bytes that were packed.
  if (packedSha256 !== undefined && sent.sha256 !== packedSha256)
    throw new CommandError(
      wireError('INTERNAL', `the kept files archive reads back as ${sent.sha256}, packed as ${packedSha256}`),
    )
  const seconds = Math.max(1, deps.now() - started) / 1000
  ctx.log(`sent ${sent.bytes} bytes of ${source.kind} in ${seconds.toFixed(1)} s (sha256 ${sent.sha256})`)
  return { ...sent, ...extra, ...(written ? await settle(written.name, written.file) : {}) }
}
