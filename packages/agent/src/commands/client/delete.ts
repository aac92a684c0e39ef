import {
  ClientDeletePayload,
  containerNameForSlug,
  dbNameForSlug,
  wireError,
  wireErrorFromZod,
  type ClientDeleteResult,
} from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { confirmGone } from './confirm-served.ts'
import { clientDrivers } from './drivers.ts'
import { describeArchive, filesArchiveName, verifiedFilesArchive } from './files-backup.ts'
import { dumpFileName, stamp, verifiedSnapshot } from './snapshot.ts'
import { stepLog, stepRunner } from './steps.ts'
import { keptUntil, recordKeptDump } from '../../kept-dumps.ts'
import { moveDumpName } from '../../transfer/move-files.ts'

/**
 * client.delete: dump the database into the backup directory first (nothing is dropped without a dump), then
 * remove the container, the site (reload) and the database with its user. What is already gone is skipped, so a
 * second delete succeeds and reports nothing removed.
 */
export const clientDelete: CommandHandler<'client.delete'> = async (ctx, deps) => {
  const parsed = ClientDeletePayload.safeParse(ctx.payload)
  if (!parsed.success)
    throw new CommandError(wireErrorFromZod('INVALID_PAYLOAD', 'client.delete payload', parsed.error))
  const p = parsed.data
  const { sites, containers, confirm, files } = clientDrivers(deps, ctx.signal)
  const client = { slug: p.slug, clientId: p.clientId }
  const db = dbAdminFor(p.dbEngine, deps)
  const dbName = dbNameForSlug(p.slug)
  const step = stepRunner(ctx)

  // Check ownership before touching anything: a container of this name serving another client is not this one.
  const existing = await containers.find(p.slug)
  if (existing && existing.clientId !== p.clientId) {
    throw new CommandError(
      wireError('CONFLICT', `${existing.name} belongs to another client (${existing.clientId ?? 'none'})`),
    )
  }

  await ctx.checkpoint({ slug: p.slug, dbEngine: p.dbEngine, clientId: p.clientId })
  // The final backup is the database dump and the files archive beside it; both are verified before anything is
  // removed, and the journal says "dumpPath" only once both are (a recovery then finishes the delete).
  let keptAt: number | undefined
  const { dumpPath, filesArchive } = await step('dump', async () => {
    const log = stepLog(ctx, 'dump')
    // A move's cleanup keeps them as a move's files, recorded first so they go after moveDumpKeepDays.
    const now = deps.now()
    const name = p.movedAway
      ? moveDumpName(p.slug, p.dbEngine, now, false)
      : dumpFileName(`${p.slug}-${stamp(now)}`, p.dbEngine)
    const filesName = filesArchiveName(name)
    await ctx.checkpoint({ dumpName: name, filesName })
    if (p.movedAway) {
      for (const kept of [name, filesName]) await recordKeptDump(deps.config.stateDir, kept, now)
      keptAt = now
    }
    let file: string | null = null
    if (!(await db.exists(dbName)).database) {
      log(`no database ${dbName}: nothing to dump`)
    } else {
      // Verified before anything is dropped: exit 0, header, completion line, every byte read back.
      const dump = await verifiedSnapshot(db, dbName, deps.config.backupDir, name, ctx.signal)
      file = dump.file
      log(`dumped ${dbName} to ${dump.file} (${dump.size} bytes, sha256 ${dump.sha256}), dump verified complete`)
    }
    const archive = await verifiedFilesArchive(files, client, deps.config.backupDir, filesName, ctx.signal)
    log(archive ? `files archived to ${describeArchive(archive)}, read back and verified` : 'no data volume to archive')
    await ctx.checkpoint({ dumpPath: file, filesPath: archive?.path ?? null })
    return { dumpPath: file, filesArchive: archive ?? null }
  })

  const removed = { container: false, site: false, database: false, volumes: false }
  await step('container', async () => {
    removed.container = await containers.remove(p.slug)
    stepLog(ctx, 'container')(removed.container ? `${containerNameForSlug(p.slug)} removed` : 'no container to remove')
    // Only now: the files archive above is verified, and no container holds the volumes any more.
    const volumes = await files.remove(client)
    removed.volumes = volumes.length > 0
    if (volumes.length > 0) stepLog(ctx, 'container')(`data volumes removed: ${volumes.join(', ')}`)
  })
  await step('nginx', async () => {
    const served = await sites.current(p.slug)
    removed.site = await sites.remove(p.slug)
    // A flag left behind would put a later client of the same slug in maintenance or expiry from its first request.
    if (served) await sites.setFlags(p.slug, { maintenance: false, expired: false })
    stepLog(ctx, 'nginx')(removed.site ? `${sites.fileOf(p.slug)} removed, nginx reloaded` : 'no site to remove')
    // The name must no longer reach the client through nginx (an old worker may, for a moment, after the reload).
    if (served) await confirmGone(ctx, confirm, served)
  })
  await step('database', async () => {
    const before = await db.drop(dbName)
    removed.database = before.database || before.user
    stepLog(ctx, 'database')(removed.database ? `database and user ${dbName} dropped` : 'no database to drop')
  })
  // Told to the master for the move's log (a recovery that skipped the dump step does not know it: left out).
  const until = keptAt === undefined ? {} : { keptUntil: keptUntil(deps.config.moveDumpKeepDays, keptAt) }
  const result: ClientDeleteResult = { dumpPath, files: filesArchive, ...until, removed }
  return result
}
