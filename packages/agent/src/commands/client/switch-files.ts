import { createReadStream } from 'node:fs'
import type { ClientFiles } from '../../drivers/client-files.ts'
import type { SwitchState } from './switch-rollback.ts'

type Attempt = (what: string, work: () => Promise<unknown>) => Promise<void>

/**
 * Puts the files of the snapshot back into the client's data volumes (the new version may have changed or removed
 * them): the archive is checked whole against the figures taken at the snapshot before anything is written. Files
 * it holds come back as they were; files only the new version created stay (Docker's archive API can add and
 * replace, not delete, and the volumes cannot be recreated while the old container holds them). Returns whether
 * the files are back (true when there was nothing to restore).
 */
export async function restoreFilesSnapshot(files: ClientFiles, attempt: Attempt, state: SwitchState): Promise<boolean> {
  const archive = state.files
  if (!archive || !state.clientId) return true
  const client = { slug: state.slug, clientId: state.clientId }
  let restored = false
  await attempt(
    `files restored from ${archive.path} (${archive.files} files, ${archive.fileBytes} bytes)`,
    async () => {
      const paths = (await files.list(client)).map((v) => v.path).filter((p) => p !== '')
      const { sha256, entries, files: count, fileBytes } = archive
      await files.unpack(client, paths, createReadStream(archive.path), {
        expected: { sha256, entries, files: count, fileBytes },
      })
      restored = true
    },
  )
  return restored
}
