import type { Writable } from 'node:stream'
import type { MariadbTablespaces } from '../../packages/agent/src/drivers/database-mariadb-tablespaces.ts'

/**
 * A database's tables exported whole into `sink` as a move's send does it (commands/transfer/send.ts): locked, the
 * archive written, the lock released whatever happened.
 */
export async function exportWhole(
  files: Pick<MariadbTablespaces, 'exportLocked'>,
  name: string,
  tables: string[],
  sink: Writable,
): Promise<void> {
  const locked = await files.exportLocked(name, tables)
  try {
    await locked.to(sink)
  } finally {
    await locked.release()
  }
}
