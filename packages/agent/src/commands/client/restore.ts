import fs from 'node:fs/promises'
import { containerNameForSlug, dbNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { rowCounts, type RowCounts } from '../../drivers/row-counts.ts'
import { checkedLoad, discardLoad } from '../../transfer/loaded-dump.ts'
import { checkedSpool } from '../../transfer/spool.ts'
import { clientDrivers } from './drivers.ts'

/** Tables whose counts differ between what the source dumped and what the restore holds, as `table: got/want`. */
export function countDifferences(want: RowCounts, got: RowCounts): string[] {
  const tables = new Set([...Object.keys(want), ...Object.keys(got)])
  return [...tables].filter((t) => want[t] !== got[t]).map((t) => `${t}: ${got[t] ?? 'missing'}/${want[t] ?? 'none'}`)
}

/**
 * client.restore: loads a received dump into the client's database on this server (a move's staged client). The
 * spool must hash to what the sender sent and be a complete dump before the database is touched; afterwards every
 * table must hold exactly the rows the source counted at its freeze. The spool is removed once restored. A dump
 * loaded on arrival (transfer.receive with `load`) passes the same checks (what arrived hashed to what was sent,
 * the rows per table, counted before the swap) and is then swapped in; a failed check drops it.
 */
export const clientRestore: CommandHandler<'client.restore'> = async (ctx, deps) => {
  const p = ctx.payload
  const { config } = deps
  const db = dbAdminFor(p.dbEngine, deps)
  const dbName = dbNameForSlug(p.slug)
  const loaded = db.swapLoaded ? await checkedLoad(config.stateDir, db, p.transferId, p.sha256) : undefined
  let counts: RowCounts
  let connectionsEnded: boolean
  if (loaded && db.swapLoaded) {
    // Loaded on arrival: what arrived hashed to what was sent; its rows are checked before it is swapped in.
    ctx.log(`transfer ${p.transferId}: loaded on arrival into ${loaded.scratch}, sha256 matches the sender's`)
    // Counted once the load was sealed (nothing but the admin reaches it since): the rows the swap brings in.
    counts = loaded.rowCounts
    const differences = p.rowCounts ? countDifferences(p.rowCounts, counts) : []
    if (differences.length > 0) {
      await discardLoad(config.stateDir, () => db, p.transferId)
      throw notWhatWasDumped(dbName, differences)
    }
    ;({ connectionsEnded } = await db.swapLoaded(dbName, loaded.scratch))
    await loaded.forget()
  } else {
    const { file, bytes } = await checkedSpool(config.stateDir, p.transferId, p.sha256, ctx.signal)
    ctx.log(`transfer ${p.transferId}: ${bytes} bytes, sha256 matches the sender's`)
    await db.verify(file, ctx.signal)
    ;({ connectionsEnded } = await db.restore(dbName, file, { signal: ctx.signal, now: deps.now }))
    counts = await rowCounts(p.dbEngine, config, dbName)
    const differences = p.rowCounts ? countDifferences(p.rowCounts, counts) : []
    if (differences.length > 0) throw notWhatWasDumped(dbName, differences)
    await fs.rm(file, { force: true })
  }
  const rows = Object.values(counts).reduce((a, b) => a + b, 0)
  ctx.log(`${dbName} restored: ${Object.keys(counts).length} tables, ${rows} rows, as counted on the source`)
  if (connectionsEnded) {
    // The app's connections were cut by the restore: a restart lets it reconnect cleanly.
    const { containers } = clientDrivers(deps, ctx.signal)
    await containers.restart(containerNameForSlug(p.slug))
    ctx.log(`${containerNameForSlug(p.slug)} restarted after the restore`)
  }
  return { rowCounts: counts }
}

const notWhatWasDumped = (dbName: string, differences: string[]) =>
  new CommandError(
    wireError('DB_ERROR', `the restore of ${dbName} does not hold what was dumped: ${differences.join(', ')}`),
  )
