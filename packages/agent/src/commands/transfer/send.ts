import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { dbNameForSlug, wireError, type TransferSendResult } from '@alfa/protocol'
import { CommandError, dockerFailure, type CommandHandler, type HandlerDeps } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { rowCounts } from '../../drivers/row-counts.ts'
import { hashing } from '../../transfer/spool.ts'
import { upload } from '../../transfer/master-channel.ts'
import { stamp, verifiedSnapshot } from '../client/snapshot.ts'

/** The master channel, or UNSUPPORTED when this agent runs without one (tests of single handlers). */
export function channelOf(deps: HandlerDeps) {
  if (!deps.master) throw new CommandError(wireError('UNSUPPORTED', 'this agent has no channel to the master'))
  return deps.master
}

/**
 * transfer.send: streams one source to the master's relay. A dump is made and verified first, into the backup dir,
 * where it stays (a move's final dump is kept on the source); its rows per table travel in the result so the target
 * proves its restore against them. An image is `docker save` streamed as Docker produces it.
 */
export const transferSend: CommandHandler<'transfer.send'> = async (ctx, deps) => {
  const { transferId, token, source } = ctx.payload
  const master = channelOf(deps)
  let body: Readable
  let extra: Pick<TransferSendResult, 'rowCounts' | 'file'> = {}
  if (source.kind === 'dump') {
    const db = dbAdminFor(source.dbEngine, deps)
    const dbName = dbNameForSlug(source.slug)
    const name = `${source.slug}-move-${stamp(deps.now())}.sql`
    const dump = await verifiedSnapshot(db, dbName, deps.config.backupDir, name, ctx.signal)
    const counts = await rowCounts(source.dbEngine, deps.config, dbName)
    ctx.log(`dump of ${dbName} verified: ${dump.size} bytes, sha256 ${dump.sha256}, kept at ${dump.file}`)
    extra = { rowCounts: counts, file: dump.file }
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
    // PLUG-IN POINT for the files archive (engineer `files`, drivers/client-files.ts): pack the client's volume
    // as a checked tar here and stream it like the dump.
    throw new CommandError(wireError('UNSUPPORTED', `files archive of ${source.slug}: not in this agent yet`))
  }
  const h = hashing()
  const started = deps.now()
  await upload(master, transferId, token, body.pipe(h.stream), ctx.signal)
  const sent = h.digest()
  const seconds = Math.max(1, deps.now() - started) / 1000
  ctx.log(`sent ${sent.bytes} bytes of ${source.kind} in ${seconds.toFixed(1)} s (sha256 ${sent.sha256})`)
  return { ...sent, ...extra }
}
