import fs from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { z } from 'zod'
import { readInside, removeInside, writeInside } from './drivers/safe-files.ts'
import { createExpiryTimer } from './expiry-timer.ts'
import { MOVE_FILE_NAME } from './transfer/move-files.ts'

const DAY_MS = 86_400_000
/** Under the state dir: one `<name>.json` per dump or files archive a move kept in the backup dir. */
const RECORDS = 'kept-dumps'
const recordSchema = z.object({ keptAt: z.iso.datetime() })

const recordsDir = (stateDir: string) => path.join(stateDir, RECORDS)

/**
 * Notes, durably, that the move file `name` (a dump or files archive a move's send, or a move's cleanup, is about to
 * write into the backup dir and keep) is kept from now: recorded before it is written, so no kept file lacks its
 * record (a record whose file a restart removed half-written is dropped when its time is up). Retention goes by these
 * records, never by file names: a client whose slug ends in `-move` makes delete dumps that look like another
 * client's move dumps, and a final dump of a deleted client is kept for good.
 */
export async function recordKeptDump(stateDir: string, name: string, now: number): Promise<void> {
  if (!MOVE_FILE_NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a move's file`)
  await fs.mkdir(recordsDir(stateDir), { recursive: true, mode: 0o700 })
  await writeInside(
    recordsDir(stateDir),
    `${name}.json`,
    JSON.stringify({ keptAt: new Date(now).toISOString() }),
    0o600,
  )
}

/** When a move file kept at `keptAt` goes by `keepDays` as it stands (each sweep reads it again), in ms. */
const goesAt = (keepDays: number, keptAt: number) => keptAt + keepDays * DAY_MS

/** The same as an instant for the move's log; null: never (0 days keeps it for good). */
export function keptUntil(keepDays: number, keptAt: number): string | null {
  return keepDays === 0 ? null : new Date(goesAt(keepDays, keptAt)).toISOString()
}

/**
 * Removes a move's kept dumps and files archives `keepDays` after they were kept (0: never), with their records.
 * The days are read when it sweeps, so a changed setting applies to the dumps kept before it too. A record that
 * does not name a move's file, or that does not parse, is left alone and reported: nothing else is ever removed.
 */
export function createKeptDumpExpiry(o: {
  stateDir: string
  backupDir: string
  keepDays: number
  now: () => number
  intervalMs: number
  logger: Logger
}) {
  const log = o.logger.child({ component: 'kept-dumps' })
  const dir = recordsDir(o.stateDir)

  /** Removes every kept file whose time is up; returns the names removed and when the next one's is. */
  async function sweep(): Promise<{ removed: string[]; next: number | undefined }> {
    const removed: string[] = []
    if (o.keepDays === 0) return { removed, next: undefined }
    const entries = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return []
      throw error
    })
    let next: number | undefined
    for (const entry of entries) {
      const name = entry.endsWith('.json') ? entry.slice(0, -'.json'.length) : ''
      const record = MOVE_FILE_NAME.test(name)
        ? recordSchema.safeParse(
            await readInside(dir, entry).then(
              (text) => parseJson(text ?? ''),
              () => undefined,
            ),
          )
        : undefined
      if (!record?.success) {
        log.warn({ record: entry }, 'not a record of a kept move dump: left alone')
        continue
      }
      const until = goesAt(o.keepDays, Date.parse(record.data.keptAt))
      if (until > o.now()) {
        next = Math.min(next ?? until, until)
        continue
      }
      // The file first: a crash between the two leaves a record whose file is gone, removed at the next sweep.
      const existed = await removeInside(o.backupDir, name)
      await removeInside(dir, entry)
      removed.push(name)
      log.info({ file: name, keptAt: record.data.keptAt, keepDays: o.keepDays, existed }, 'kept move dump removed')
    }
    return { removed, next }
  }

  const timer = createExpiryTimer({
    sweep,
    now: o.now,
    intervalMs: o.intervalMs,
    onError: (error) => log.error({ err: error }, 'kept move dump sweep failed'),
  })
  return { sweep, start: timer.start, stop: timer.stop }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
