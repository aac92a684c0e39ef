import fs from 'node:fs/promises'
import { containerNameForSlug, wireError, type DbEngine } from '@alfa/protocol'
import { CommandError } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import { removeInside } from '../../drivers/safe-files.ts'
import type { ClientDrivers } from './drivers.ts'
import { filesArchiveName } from './files-backup.ts'
import { isDumpName } from './snapshot.ts'

/** Room kept free beyond the estimate: a dump's text can outgrow the pages it came from, and the disk is shared. */
const ROOM_MARGIN_BYTES = 16 * 1024 * 1024

/** The database's size as its engine reports it, read inside the client's own database. */
const SIZE_SQL: Record<DbEngine, string> = {
  mariadb:
    'SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  postgresql: 'SELECT pg_database_size(current_database())',
}

/**
 * Refuses a switch, before anything changes, when the backup disk has no room for its snapshot (estimated from the
 * database's size plus a margin): a snapshot that dies of a full disk would leave a switch with nothing to go back to.
 */
export async function ensureRoomForSnapshot(
  db: DbAdmin,
  dbName: string,
  dir: string,
): Promise<{ estimate: number; free: number }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const estimate = await db.count(dbName, SIZE_SQL[db.engine])
  const stats = await fs.statfs(dir)
  const free = stats.bavail * stats.bsize
  if (free < estimate + ROOM_MARGIN_BYTES) {
    const message = `the backup disk ${dir} has ${free} bytes free; the snapshot of ${dbName} needs about ${estimate + ROOM_MARGIN_BYTES} (database ${estimate} bytes + ${ROOM_MARGIN_BYTES} margin): nothing was changed`
    throw new CommandError(wireError('CONFLICT', message, { dir, free, estimate }))
  }
  return { estimate, free }
}

/** What the freeze changed, journaled so a rollback (also after a restart) can put it back. */
export interface Frozen {
  /** The client's flags before the switch (maintenance may already have been on). */
  flags: { maintenance: boolean; expired: boolean }
  /** When writes stopped, ms since the epoch. */
  at: number
}

/**
 * Stops writes before the snapshot, so the snapshot holds every write and a rollback loses none: nginx serves the
 * maintenance page (a flag file, no reload) and the old container is stopped, so neither a request nor a job of the
 * app writes until the switch ends.
 */
export async function freezeWrites(d: ClientDrivers, slug: string, now: () => number): Promise<Frozen> {
  const flags = await d.sites.flags(slug)
  const at = now()
  await d.sites.setFlags(slug, { ...flags, maintenance: true })
  await d.containers.stopNamed(containerNameForSlug(slug))
  return { flags, at }
}

/** Puts the flags back as they were; returns the freeze window in ms. */
export async function thawWrites(d: ClientDrivers, slug: string, frozen: Frozen, now: () => number): Promise<number> {
  await d.sites.setFlags(slug, frozen.flags)
  return now() - frozen.at
}

/** Keeps the newest `keep` switch snapshots of the client (their names sort by time) and removes the rest. */
export async function pruneSnapshots(dir: string, slug: string, keep: number): Promise<string[]> {
  const prefix = `${slug}-switch-`
  const mine = (await fs.readdir(dir)).filter((n) => n.startsWith(prefix) && isDumpName(n)).sort()
  const old = mine.slice(0, Math.max(0, mine.length - keep))
  for (const name of old) {
    await removeInside(dir, name)
    // The files archive taken with it goes with it (absent when the client had no data volume).
    await removeInside(dir, filesArchiveName(name))
  }
  return old
}
