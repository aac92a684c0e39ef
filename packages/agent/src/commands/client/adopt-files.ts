import path from 'node:path/posix'
import { volumeNameForData } from '@alfa/protocol'
import type { ClientFiles, ClientRef } from '../../drivers/client-files.ts'
import type { ContainerDetails } from '../../drivers/containers.ts'

/**
 * Before a container made without data volumes (by an agent older than them) is replaced: what it wrote at each data
 * path is copied into the path's new volume (checked like any archive), so the first switch or deploy with volumes
 * loses none of its files. A path that already has a mounted volume, or that the container never wrote, is skipped.
 */
export async function adoptContainerFiles(
  files: ClientFiles,
  client: ClientRef,
  old: ContainerDetails,
  dataPaths: readonly string[],
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  for (const dataPath of dataPaths) {
    if (old.volumes.includes(volumeNameForData(client.slug, dataPath))) continue
    const inside = path.isAbsolute(dataPath) ? dataPath : path.join(old.workingDir || '/', dataPath)
    const copied = await files.adopt(client, old.id, dataPath, inside, { signal })
    if (copied) log(`${copied.files} files (${copied.fileBytes} bytes) of ${old.name}:${inside} copied into its volume`)
  }
}
