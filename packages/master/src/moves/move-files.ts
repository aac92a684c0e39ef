import type { CommandResult, FilesCount } from '@alfa/protocol'
import { StepFailed, type StepTools } from './move-steps.ts'

/** One end of a files transfer: the server and the client whose volumes are read or written there. */
export interface FilesEnd {
  serverId: string
  clientId: string
  slug: string
}

/** What a files step carried: the source's count of its archive, where it is kept, and what the target read back. */
export interface CarriedFiles {
  sent: FilesCount
  keptAt: string | undefined
  archiveBytes: number
  restored: CommandResult<'client.restore_files'>
}

/**
 * The files step of a move or a copy: the source packs the client's data volumes (an empty archive when it has
 * none) and streams it through the relay like the dump; the target checks the spool's SHA-256, then unpacks it
 * into the staged client's volumes for `dataPaths` with the source's figures as what it must hold, and reads the
 * volumes back. A hostile archive is refused by the target's checks with nothing written. With `o.keepCopy` false
 * the source keeps no copy of the archive (a copy's origin).
 */
export async function carryFiles(
  tools: StepTools,
  stepName: string,
  from: FilesEnd,
  to: FilesEnd,
  dataPaths: readonly string[],
  o: { keepCopy?: boolean } = {},
): Promise<CarriedFiles> {
  const source = { kind: 'files', slug: from.slug, clientId: from.clientId } as const
  const t = await tools.transfer(stepName, from.serverId, to.serverId, source, o)
  const sent = t.sent.archive
  if (!sent) throw new StepFailed(stepName, 'UNSUPPORTED', 'the source agent sent files without counting them')
  const restored = await tools.ask(stepName, to.serverId, 'client.restore_files', {
    clientId: to.clientId,
    slug: to.slug,
    transferId: t.transferId,
    sha256: t.sent.sha256,
    dataPaths: [...dataPaths],
    expected: sent,
  })
  await tools.log(
    `files unpacked on the target: ${restored.unpacked.files} files, ${restored.unpacked.fileBytes} bytes` +
      ` (the source packed ${sent.files} files, ${sent.fileBytes} bytes${t.sent.file ? `, kept at ${t.sent.file}` : ''})`,
  )
  return { sent, keptAt: t.sent.file, archiveBytes: t.sent.bytes, restored }
}

/**
 * The files part of a verify: the target must have unpacked, and read back from its volumes, exactly the files and
 * bytes the source counted in its archive. Throws StepFailed (FILES_MISMATCH) naming both figures otherwise.
 */
export async function verifyFiles(tools: StepTools, stepName: string, carried: CarriedFiles): Promise<void> {
  const { sent, restored } = carried
  const figures = [
    ['unpacked', restored.unpacked],
    ['read back', restored.readBack],
  ] as const
  for (const [what, got] of figures) {
    if (got.files !== sent.files || got.fileBytes !== sent.fileBytes)
      throw new StepFailed(
        stepName,
        'FILES_MISMATCH',
        `the target ${what} ${got.files} files (${got.fileBytes} bytes), the source packed ${sent.files} (${sent.fileBytes} bytes)`,
      )
  }
  await tools.log(
    `files verified: ${sent.files} files, ${sent.fileBytes} bytes on the target as on the source, each read back with its sha256`,
  )
}
