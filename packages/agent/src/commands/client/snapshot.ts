import fs from 'node:fs/promises'
import type { DbAdmin } from '../../drivers/database.ts'
import { createEmptyInside, removeInside } from '../../drivers/safe-files.ts'

/** `2026-05-01T10-20-30-123Z`: sortable, and only characters a file name and the path schema accept. */
export const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-')

/**
 * Dumps `dbName` into `dir/name` (0600, created exclusively) and verifies the copy before anyone relies on it: the
 * tool exited 0 and the engine's driver finds it complete (mysqldump's completion line; pg_restore reads the whole
 * archive): a dump cut short by a full disk or a killed process fails. An unverified file is removed and the call
 * throws.
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
    await db.verify(file, signal)
    const { size } = await fs.stat(file)
    return { file, size }
  } catch (error) {
    await removeInside(dir, name).catch(() => undefined)
    throw error
  }
}
