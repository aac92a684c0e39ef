import type { Readable } from 'node:stream'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { RowCounts } from './row-counts.ts'

/** The steps of a restore, journaled one by one so a kill in any of them is finished (or redone) at start-up. */
export type RestoreStep = 'restore-load' | 'restore-verify' | 'restore-swap' | 'restore-cleanup'

/** The engine's pieces of a restore into a fresh database (see restoreFresh). */
export interface RestorePrimitives {
  /** Makes the new database `scratch` (as create() makes a client's: owner / grants for the client's user) and loads
   * the dump into it logged in as the client's user, with a tool that runs no client commands. */
  loadInto(name: string, scratch: string, file: string, signal?: AbortSignal): Promise<void>
  /** The same, from a stream read while it arrives (a move's transfer); absent for an engine that needs the file.
   * Once loaded, `scratch` is sealed: only the admin reaches it (the user's grant on it taken away, its sessions
   * ended), so its rows stay as counted until the swap. */
  loadStreamInto?(
    name: string,
    scratch: string,
    input: Readable,
    signal?: AbortSignal,
    /** The stream is a zstd-compressed dump (dumpPackedTo): zstd unpacks it on its way into the load. */
    packed?: boolean,
  ): Promise<void>
  /** Rows per base table of a database, counted by the admin without running anything of the tenant's. */
  rowCounts(name: string): Promise<RowCounts>
  /** Puts `scratch`'s content in place of `name`'s in one atomic change; what `name` held ends in `trash`. The
   * database's name, its user and that user's grants stay as they were. */
  swapIn(name: string, scratch: string, trash: string): Promise<{ connectionsEnded: boolean }>
  /** The databases set aside for `name` by restores (`<name>__restore_<n>`, `<name>__old_<n>`). */
  asideOf(name: string): Promise<string[]>
  /** Drops one of them (refused for any other name) and whatever grant the client's user had on it. */
  dropAside(name: string, aside: string): Promise<void>
}

export interface RestoreOptions {
  signal?: AbortSignal
  /** Rows per table the snapshot holds: between `min` and `max` (equal when nothing wrote while it was taken). The
   * copy must hold at least that per table, checked before the swap: a short copy never replaces the live database. */
  expected?: { min: RowCounts; max: RowCounts }
  /** Called before each step: the caller journals it (and the fault tests pause there). */
  onStep?: (step: RestoreStep) => Promise<void>
  now?: () => number
}

export interface RestoreOutcome {
  connectionsEnded: boolean
  /** The rows per table of the restored database, as verified. */
  counts: RowCounts
  /** Tables holding more rows than the snapshot (see compareCounts). */
  extra: string[]
  /** Set-aside databases that could not be dropped after the swap (named for an operator; never the live one). */
  leftover: string[]
}

/** A restore that failed at `step`; the live database is as it was unless the step is past the swap. */
export class RestoreFailure extends CommandError {
  constructor(
    readonly step: RestoreStep,
    error: unknown,
  ) {
    const why =
      error instanceof CommandError ? error.wire.message : error instanceof Error ? error.message : String(error)
    const code = error instanceof CommandError ? error.wire.code : 'DB_ERROR'
    super(wireError(code, `${step} failed: ${why}`, { step }))
  }
}

/**
 * `<name>__restore_<n>` / `<name>__old_<n>`: a client's database name never holds "__" (slugs have no "--"), so no
 * client's database can be taken for one of these.
 */
export const isAsideOf = (name: string, candidate: string): boolean =>
  candidate.startsWith(`${name}__`) && /^__(?:restore|old)_\d{1,8}$/.test(candidate.slice(name.length))

/** One restore's fresh database and where the live one's content goes: `<name>__restore_<n>`, `<name>__old_<n>`. */
export function freshNames(name: string, now: () => number = Date.now) {
  const n = String(now() % 100_000_000)
  return { scratch: `${name}__restore_${n}`, trash: `${name}__old_${n}` }
}

/**
 * restoreFresh's load for a dump that is still arriving on `input` (a move's transfer): what earlier restores left
 * aside is dropped, then the dump is loaded into the new database `scratch`, sealed, and its rows counted (what the
 * swap will bring in). The live database is not touched, and `scratch` is used only by swapFresh, once the caller
 * checked what arrived; a failure drops it.
 */
export async function loadFresh(
  db: RestorePrimitives,
  name: string,
  scratch: string,
  input: Readable,
  signal?: AbortSignal,
  packed?: boolean,
) {
  if (!db.loadStreamInto || !isAsideOf(name, scratch))
    throw new CommandError(wireError('INTERNAL', `no streamed load of ${name} into ${scratch}`))
  try {
    for (const aside of await db.asideOf(name)) await db.dropAside(name, aside)
    await db.loadStreamInto(name, scratch, input, signal, packed)
    return await db.rowCounts(scratch)
  } catch (error) {
    await db.dropAside(name, scratch).catch(() => undefined)
    throw error
  }
}

/**
 * restoreFresh's swap and cleanup for a database loadFresh filled and the caller checked (bytes and row counts):
 * swapped in for `name` in one atomic change; before the swap a failure drops it and leaves the live one as it was.
 */
export async function swapFresh(db: RestorePrimitives, name: string, scratch: string) {
  const trash = scratch.replace(/__restore_(\d+)$/, '__old_$1')
  if (!isAsideOf(name, scratch) || trash === scratch)
    throw new CommandError(wireError('INTERNAL', `${scratch} is not a restore database of ${name}`))
  let connectionsEnded: boolean
  try {
    ;({ connectionsEnded } = await db.swapIn(name, scratch, trash))
  } catch (error) {
    for (const aside of [scratch, trash]) await db.dropAside(name, aside).catch(() => undefined)
    throw new RestoreFailure('restore-swap', error)
  }
  const leftover: string[] = []
  for (const aside of [scratch, trash]) await db.dropAside(name, aside).catch(() => leftover.push(aside))
  return { connectionsEnded, leftover }
}

/**
 * Restores a dump without dropping anything first: loaded into a new database, its row counts checked, and only
 * then swapped in for the live one in one atomic change. Until the swap the live database is untouched whatever
 * fails (the new one is dropped); after it, the live database holds exactly the dump. Databases left aside by an
 * earlier restore that was killed are dropped first (the live one never depends on them).
 */
export async function restoreFresh(
  db: RestorePrimitives,
  name: string,
  file: string,
  o: RestoreOptions = {},
): Promise<RestoreOutcome> {
  const { scratch, trash } = freshNames(name, o.now)
  const step = async <T>(s: RestoreStep, work: () => Promise<T>): Promise<T> => {
    await o.onStep?.(s)
    try {
      return await work()
    } catch (error) {
      throw new RestoreFailure(s, error)
    }
  }
  let swapped = false
  try {
    await step('restore-load', async () => {
      for (const aside of await db.asideOf(name)) await db.dropAside(name, aside)
      await db.loadInto(name, scratch, file, o.signal)
    })
    const counts = await step('restore-verify', async () => {
      const got = await db.rowCounts(scratch)
      if (!o.expected) return { got, extra: [] }
      const { short, extra } = compareCounts(got, o.expected.min, o.expected.max)
      if (short.length > 0)
        throw new CommandError(
          wireError('DB_ERROR', `the restored copy ${scratch} is short of the snapshot: ${short.join('; ')}`),
        )
      return { got, extra }
    })
    const { connectionsEnded } = await step('restore-swap', () => db.swapIn(name, scratch, trash))
    swapped = true
    // Journaled too: a kill from here on finds the restored database live and only set-aside ones to drop.
    await o.onStep?.('restore-cleanup')
    const leftover: string[] = []
    for (const aside of [scratch, trash]) await db.dropAside(name, aside).catch(() => leftover.push(aside))
    return { connectionsEnded, counts: counts.got, extra: counts.extra, leftover }
  } finally {
    // Before the swap the live database was not touched: what this restore made goes, whatever failed.
    if (!swapped) for (const aside of [scratch, trash]) await db.dropAside(name, aside).catch(() => undefined)
  }
}

/**
 * Tables the copy holds fewer rows of than the snapshot (or lacks): `short`, a failed restore. `extra`: more rows than
 * the snapshot held (a tenant's CHECK or trigger that wrote while rows were loaded) or a table it did not have; kept
 * and reported, since nothing of the snapshot is missing.
 */
export function compareCounts(got: RowCounts, min: RowCounts, max: RowCounts): { short: string[]; extra: string[] } {
  const short: string[] = []
  const extra: string[] = []
  for (const t of Object.keys(got).sort())
    if (min[t] === undefined && max[t] === undefined) extra.push(`${t}: not in the snapshot (${got[t]} rows)`)
  for (const t of [...new Set([...Object.keys(min), ...Object.keys(max)])].sort()) {
    const lo = Math.min(min[t] ?? Infinity, max[t] ?? Infinity)
    const hi = Math.max(min[t] ?? -Infinity, max[t] ?? -Infinity)
    const range = lo === hi ? String(lo) : `${lo}–${hi}`
    const n = got[t]
    if (n === undefined) short.push(`${t}: absent (snapshot ${range})`)
    else if (n < lo) short.push(`${t}: ${n} rows (snapshot ${range})`)
    else if (n > hi) extra.push(`${t}: ${n} rows (snapshot ${range})`)
  }
  return { short, extra }
}
