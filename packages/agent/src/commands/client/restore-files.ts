import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import { PassThrough } from 'node:stream'
import { wireError } from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import type { ClientFiles, ClientRef } from '../../drivers/client-files.ts'
import { compareDigests, fileDigests } from '../../drivers/files-digest.ts'
import { checkedSpool } from '../../transfer/spool.ts'
import { clientDrivers } from './drivers.ts'

/** The regular files the client's volumes hold now, read back through Docker as a files archive. */
async function volumeDigests(files: ClientFiles, client: ClientRef, signal: AbortSignal) {
  const through = new PassThrough()
  const packing = files.pack(client, through, { signal }).catch((error: unknown) => {
    through.destroy(error instanceof Error ? error : new Error(String(error)))
    throw error
  })
  const [, digests] = await Promise.all([packing, fileDigests(through, signal)])
  return digests
}

/**
 * client.restore_files: unpacks a received files archive into the client's data volumes on this server (a move's
 * or copy's staged client). In order, before anything is written: the spool hashes to what the sender sent, and
 * the archive passes every entry check (no absolute path, "..", link out, device; only this profile's keys) with
 * exactly the sender's entries, files and bytes. Afterwards the volumes are read back: every file of the archive
 * must be there with its size and SHA-256. The spool is removed in every case (a retry is a new transfer).
 */
export const clientRestoreFiles: CommandHandler<'client.restore_files'> = async (ctx, deps) => {
  const p = ctx.payload
  const client = { slug: p.slug, clientId: p.clientId }
  const { file, bytes } = await checkedSpool(deps.config.stateDir, p.transferId, p.sha256, ctx.signal)
  try {
    ctx.log(`transfer ${p.transferId}: ${bytes} bytes, sha256 matches the sender's`)
    const { files } = clientDrivers(deps, ctx.signal)
    const summary = await files.unpackFile(client, p.dataPaths, file, {
      expected: { sha256: p.sha256, ...p.expected },
      signal: ctx.signal,
    })
    const unpacked = { entries: summary.entries, files: summary.files, fileBytes: summary.fileBytes }
    ctx.log(`unpacked ${unpacked.files} files (${unpacked.fileBytes} bytes, ${unpacked.entries} entries)`)
    const want = await fileDigests(createReadStream(file), ctx.signal)
    const got = summary.entries === 0 ? new Map() : await volumeDigests(files, client, ctx.signal)
    const found = compareDigests(want, got)
    if (found.missing.length > 0 || found.differing.length > 0) {
      const names = [...found.missing, ...found.differing].slice(0, 5).join(', ')
      throw new CommandError(
        wireError(
          'DOCKER_ERROR',
          `the volumes of ${p.slug} do not hold what was unpacked: ${found.missing.length} files missing, ` +
            `${found.differing.length} differ (${names})`,
        ),
      )
    }
    ctx.log(
      `read back from the volumes: ${found.files} files, ${found.fileBytes} bytes, each with its sha256` +
        (found.extra > 0 ? `; ${found.extra} other files were already there` : ''),
    )
    return { unpacked, readBack: { files: found.files, fileBytes: found.fileBytes }, extraFiles: found.extra }
  } finally {
    await fs.rm(file, { force: true })
  }
}
