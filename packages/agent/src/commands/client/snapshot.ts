import fs from 'node:fs/promises'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import { DUMP_TRAILER } from '../../drivers/database-types.ts'
import { createEmptyInside, removeInside } from '../../drivers/safe-files.ts'

/** `2026-05-01T10-20-30-123Z`: sortable, and only characters a file name and the path schema accept. */
export const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-')

/** How much of a dump's end is read to find the tool's completion line. */
const TRAILER_WINDOW = 4096

/**
 * Dumps `dbName` into `dir/name` (0600, created exclusively) and verifies the copy before anyone relies on it: the
 * tool exited 0, the file is not empty and ends with the tool's completion line (a dump cut short by a full disk
 * or a killed process has none). An unverified file is removed and the call throws.
 */
export async function verifiedSnapshot(
  db: DbAdmin,
  dbName: string,
  dir: string,
  name: string,
  signal: AbortSignal,
): Promise<{ file: string; size: number }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const file = await createEmptyInside(dir, name, 0o600)
  try {
    await db.dump(dbName, file, signal)
    const { size } = await fs.stat(file)
    const handle = await fs.open(file, 'r')
    const tail = Buffer.alloc(Math.min(size, TRAILER_WINDOW))
    try {
      await handle.read(tail, 0, tail.length, Math.max(0, size - tail.length))
    } finally {
      await handle.close()
    }
    if (size === 0 || !DUMP_TRAILER.test(tail.toString('utf8'))) {
      throw new CommandError(
        wireError('DB_ERROR', `the dump of ${dbName} in ${file} is incomplete (${size} bytes, no completion line)`),
      )
    }
    return { file, size }
  } catch (error) {
    await removeInside(dir, name).catch(() => undefined)
    throw error
  }
}
