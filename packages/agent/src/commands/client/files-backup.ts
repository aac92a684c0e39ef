import type { FilesArchive } from '@alfa/protocol'
import type { ClientFiles, ClientRef } from '../../drivers/client-files.ts'
import { removeInside } from '../../drivers/safe-files.ts'
import { dumpBaseName } from './snapshot.ts'

/** The archive of a client's files that sits beside a database dump: `<dump name without .sql/.dump>.files.tar`. */
export const filesArchiveName = (dumpName: string) => `${dumpBaseName(dumpName)}.files.tar`

/**
 * Packs the client's data volumes into `dir/name` (0600) and verifies the copy before anyone relies on it: the file
 * is read back whole and checked entry by entry as an unpack would check it (no absolute path, no "..", no link
 * out, no device), with the same sha256, entries, files and bytes as were written. An unverified file is removed
 * and the call throws. Undefined when the client has no data volume (nothing to keep).
 */
export async function verifiedFilesArchive(
  files: ClientFiles,
  client: ClientRef,
  dir: string,
  name: string,
  signal: AbortSignal,
): Promise<FilesArchive | undefined> {
  if ((await files.list(client)).length === 0) return undefined
  const packed = await files.packToFile(client, dir, name, { signal })
  try {
    const { sha256, entries, files: count, fileBytes } = packed
    const read = await files.verifyFile(packed.file, packed.keys, { sha256, entries, files: count, fileBytes }, signal)
    return {
      path: packed.file,
      sha256: read.sha256,
      archiveBytes: read.archiveBytes,
      entries: read.entries,
      files: read.files,
      fileBytes: read.fileBytes,
    }
  } catch (error) {
    await removeInside(dir, name).catch(() => undefined)
    throw error
  }
}

/** One log line for an archive: where, how much, and its checksum. */
export const describeArchive = (a: FilesArchive) =>
  `${a.path} (${a.files} files, ${a.fileBytes} bytes in ${a.entries} entries, 0600, sha256 ${a.sha256})`
