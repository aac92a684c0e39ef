import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import fs, { type FileHandle } from 'node:fs/promises'
import { wireError, type DbEngine } from '@alfa/protocol'
import { CommandError } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import { createEmptyInside, removeInside } from '../../drivers/safe-files.ts'
import { ExecError } from '../../exec.ts'

/** `2026-05-01T10-20-30-123Z`: sortable, and only characters a file name and the path schema accept. */
export const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-')

const DUMP_EXTENSIONS: Record<DbEngine, string> = { mariadb: '.sql', postgresql: '.dump' }

/**
 * A dump's file name: `.sql` for MariaDB's text, `.dump` for PostgreSQL's custom format (restored by pg_restore, not
 * psql: an operator who finds a `.sql` file feeds it to psql and gets garbage). Kept dumps named `.sql` before this
 * are still recognised (isDumpName).
 */
export const dumpFileName = (base: string, engine: DbEngine): string => `${base}${DUMP_EXTENSIONS[engine]}`

/** Either engine's extension at the end of a name (old PostgreSQL `.sql` names included). */
const DUMP_EXTENSION_AT_END = /\.(sql|dump)$/

/** Whether `name` is a database dump by its extension. */
export const isDumpName = (name: string): boolean => DUMP_EXTENSION_AT_END.test(name)

/** `name` without its dump extension: what files kept beside the dump are named after. */
export const dumpBaseName = (name: string): string => name.replace(DUMP_EXTENSION_AT_END, '')

/**
 * How a dump of either tool begins, within its first bytes: MariaDB 10.11+ puts a sandbox-mode comment line before
 * its header, and a custom-format PostgreSQL archive begins with its magic bytes.
 */
const DUMP_HEADER = /^PGDMP|^(?:\/\*M![^\n]*\*\/\s*\n)?-- (?:MariaDB|MySQL) dump|^--\n-- PostgreSQL database dump/

/** Builds the DB_ERROR that names a dump of `dbName` into `file` and says what is wrong with it. */
export type DumpRefusal = (why: string, data?: Record<string, unknown>) => CommandError

export const dumpRefusal =
  (dbName: string, file: string): DumpRefusal =>
  (why, data) =>
    new CommandError(wireError('DB_ERROR', `the dump of ${dbName} into ${file} ${why}`, { file, ...data }))

/** The dump tool's own failure as the dump's DB_ERROR, with the last lines the tool wrote to stderr. */
export function toolFailure(refuse: DumpRefusal, error: ExecError): CommandError {
  const tail = error.stderrTail.trim().split('\n').slice(-3).join(' | ')
  return refuse(`failed: ${error.message}${tail ? ` (${tail})` : ''}`, { exitCode: error.exitCode })
}

/** zstd's frame magic number (little-endian), read as latin1: how a dump compressed with zstd begins. */
export const ZSTD_HEADER = { pattern: /^\x28\xb5\x2f\xfd/, like: "zstd's output" }

/**
 * Checks the dump `handle` holds (`size` bytes) is not empty and begins with a dump tool's header (or, given
 * `expected`, with that: ZSTD_HEADER for a compressed one).
 */
export async function checkDumpHead(
  handle: FileHandle,
  size: number,
  refuse: DumpRefusal,
  expected = { pattern: DUMP_HEADER, like: 'a dump' },
): Promise<void> {
  if (size === 0) throw refuse('is empty')
  const head = Buffer.alloc(Math.min(size, 256))
  await handle.read(head, 0, head.length, 0)
  if (!expected.pattern.test(head.toString('latin1')))
    throw refuse(`does not begin like ${expected.like} (${size} bytes)`)
}

/** A verified dump: where it is, its size, and the SHA-256 of the bytes read back after it was written. */
export interface VerifiedDump {
  file: string
  size: number
  sha256: string
}

/**
 * Dumps `dbName` into `dir/name` (0600, created exclusively) and verifies the copy before anyone relies on it: the
 * tool exited 0, the file is not empty, begins with the tool's header, the engine's driver finds it complete
 * (mysqldump's completion line; pg_restore reads the whole archive: a dump cut short by a full disk or a killed
 * process fails), and reads back whole (every byte, checksummed). An unverified
 * file is removed and the call throws a DB_ERROR naming the dump.
 */
export async function verifiedSnapshot(
  db: DbAdmin,
  dbName: string,
  dir: string,
  name: string,
  signal: AbortSignal,
): Promise<VerifiedDump> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const file = await createEmptyInside(dir, name, 0o600)
  const refuse = dumpRefusal(dbName, file)
  try {
    try {
      await db.dump(dbName, file, signal)
    } catch (error) {
      throw error instanceof ExecError ? toolFailure(refuse, error) : error
    }
    const { size } = await fs.stat(file)
    const handle = await fs.open(file, 'r')
    try {
      await checkDumpHead(handle, size, refuse)
    } finally {
      await handle.close()
    }
    // The engine's own completeness check: mysqldump's completion line; pg_restore reading the whole archive.
    await db.verify(file, signal)
    const { bytes, sha256 } = await readBack(file, signal)
    if (bytes !== size) throw refuse(`reads back ${bytes} of its ${size} bytes`)
    return { file, size, sha256 }
  } catch (error) {
    await removeInside(dir, name).catch(() => undefined)
    throw error
  }
}

/** Reads the whole file back from disk: a dump that cannot be read back cannot be restored either. */
async function readBack(file: string, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of createReadStream(file, { signal }) as AsyncIterable<Buffer>) {
    bytes += chunk.length
    hash.update(chunk)
  }
  return { bytes, sha256: hash.digest('hex') }
}
