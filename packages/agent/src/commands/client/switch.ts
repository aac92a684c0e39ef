import {
  ClientSettings,
  ClientSwitchPayload,
  containerNameForSlug,
  dbNameForSlug,
  wireError,
  wireErrorFromZod,
  type ClientSwitchResult,
} from '@alfa/protocol'
import {
  CommandError,
  dockerFailure,
  type CommandContext,
  type CommandHandler,
  type HandlerDeps,
} from '../../command-context.ts'
import { dbAdminFor, type DbAdmin } from '../../drivers/database.ts'
import type { SiteSpec } from '../../drivers/nginx-sites.ts'
import { clientDrivers, type ClientDrivers } from './drivers.ts'
import { adoptContainerFiles } from './adopt-files.ts'
import { successorEnv } from './env.ts'
import { probeHealth, unhealthy } from './health.ts'
import { rowCounts } from '../../drivers/row-counts.ts'
import { describeArchive, filesArchiveName, verifiedFilesArchive } from './files-backup.ts'
import { dumpFileName, stamp, verifiedSnapshot } from './snapshot.ts'
import { ensureRoomForSnapshot, freezeWrites, pruneSnapshots, thawWrites } from './switch-freeze.ts'
import { switchPreflight } from './switch-preflight.ts'
import { rollbackSwitch, type SwitchState } from './switch-rollback.ts'
import { stepLog, stepRunner, stepWireError } from './steps.ts'

const MIGRATE_TIMEOUT_MS = 15 * 60_000

/**
 * client.switch: snapshot → start-new → migrate → health → switch-site → settings → cleanup. Writes are frozen
 * (maintenance page, old container stopped) from just before the snapshot until the site points at the new one; any failure before cleanup is rolled back by rollbackSwitch (new
 * container removed, site pointed back, snapshot restored, old container running) and fails naming its step.
 */
export const clientSwitch: CommandHandler<'client.switch'> = async (ctx, deps) => {
  const parsed = ClientSwitchPayload.safeParse(ctx.payload)
  if (!parsed.success)
    throw new CommandError(wireErrorFromZod('INVALID_PAYLOAD', 'client.switch payload', parsed.error))
  const p = parsed.data
  const drivers = clientDrivers(deps, ctx.signal)
  const db = dbAdminFor(p.dbEngine, deps)
  const site = await switchPreflight(ctx, drivers, p)
  const state: SwitchState = {
    slug: p.slug,
    clientId: p.clientId,
    domain: p.domain,
    healthPath: p.profile.healthPath,
    ...(p.rollbackHealthPath ? { rollbackHealthPath: p.rollbackHealthPath } : {}),
    site,
    newStarted: false,
  }
  try {
    return await runSwitch(ctx, deps, p, drivers, db, state)
  } catch (error) {
    if (!state.frozen && !state.newStarted && !state.siteSwitched) {
      ctx.log('nothing was changed: nothing to roll back', { step: 'rollback' })
    } else if (state.oldRemoved) {
      // Past the point of no return: the site serves the new container, the old one is gone. A re-run finishes it.
      ctx.log(
        `not rolled back: ${p.image} serves the site from ${containerNameForSlug(p.slug)}-next; re-run the switch to finish the rename`,
        { step: 'rollback', level: 'warn' },
      )
    } else {
      const undone = await rollbackSwitch(ctx, deps, db, state, (step) => ctx.checkpoint({ step }))
      if (!undone.ok) {
        // The switch's own failure first, then why the rollback stopped: the operation names both steps.
        const first = error instanceof CommandError ? error.wire : stepWireError('switch', error)
        const data = first.data && !Array.isArray(first.data) ? first.data : {}
        throw new CommandError(
          wireError(first.code, `${first.message}; rollback stopped at ${undone.step}: ${undone.message}`, {
            ...data,
            rollbackStep: undone.step,
          }),
        )
      }
    }
    throw error
  }
}

async function runSwitch(
  ctx: CommandContext<'client.switch'>,
  deps: HandlerDeps,
  p: ClientSwitchPayload,
  drivers: ClientDrivers,
  db: DbAdmin,
  state: SwitchState,
): Promise<ClientSwitchResult> {
  const { containers, sites } = drivers
  const step = stepRunner(ctx)
  const dbName = dbNameForSlug(p.slug)
  const oldName = containerNameForSlug(p.slug)
  const nextName = `${oldName}-next`

  // Checked before anything changes: a switch to an image this server does not have stops here.
  const imageVersion = await deps.docker
    .getImage(p.image)
    .inspect()
    .then((info) => info.Config.Labels?.['alfa.version'])
    .catch((error: unknown) => {
      // Docker's own 404 text repeats the ref three times; say what it means and where to look instead.
      if ((error as { statusCode?: unknown }).statusCode === 404)
        throw new CommandError(
          wireError('NOT_FOUND', `image ${p.image} is not on this server (GET /servers/{id}/images lists what is)`),
        )
      throw dockerFailure(error, `image ${p.image}`)
    })
  const version = p.settings.version ?? imageVersion
  // Journaled at every change of state (no secret in it), so a restart can finish or undo the switch.
  const save = () => ctx.checkpoint({ switch: state })
  await ctx.checkpoint({
    slug: p.slug,
    dbEngine: p.dbEngine,
    image: p.image,
    version: imageVersion ?? null,
    // The settings row to write (no secret in it), so a recovery past the site switch can finish the settings step.
    settings: settingsFor(p.settings, version),
    switch: state,
  })

  // Refused here, before anything changes, when the snapshot would not fit on the backup disk.
  const room = await ensureRoomForSnapshot(db, dbName, deps.config.backupDir)

  await step('snapshot', async () => {
    const log = stepLog(ctx, 'snapshot')
    log(`backup disk: ${room.free} bytes free, ${dbName} takes about ${room.estimate}`)
    // Frozen first: the snapshot then holds every write, and a rollback to it loses none.
    state.frozen = await freezeWrites(drivers, p.slug, deps.now)
    state.oldStopped = true
    await save()
    log(`writes frozen at ${new Date(state.frozen.at).toISOString()}: maintenance page on, ${oldName} stopped`)
    state.rowCounts = await rowCounts(p.dbEngine, deps.config, dbName)
    await save()
    const snapshotName = dumpFileName(`${p.slug}-switch-${stamp(deps.now())}`, p.dbEngine)
    const { file, size, sha256 } = await verifiedSnapshot(db, dbName, deps.config.backupDir, snapshotName, ctx.signal)
    state.snapshot = file
    // Counted again: nothing wrote during the dump when both agree, and a restore must match them.
    state.rowCountsAfter = await rowCounts(p.dbEngine, deps.config, dbName)
    await save()
    log(`${dbName} dumped to ${file} (${size} bytes, 0600, sha256 ${sha256}), dump verified complete`)
    const client = { slug: p.slug, clientId: p.clientId }
    const files = await verifiedFilesArchive(
      drivers.files,
      client,
      deps.config.backupDir,
      filesArchiveName(snapshotName),
      ctx.signal,
    )
    if (files) {
      state.files = files
      await save()
      log(`files archived to ${describeArchive(files)}, read back and verified`)
    }
    const pruned = await pruneSnapshots(deps.config.backupDir, p.slug, deps.config.snapshotsKeep)
    if (pruned.length > 0) log(`older snapshots removed (keeping ${deps.config.snapshotsKeep}): ${pruned.join(', ')}`)
  })

  const secrets: string[] = []
  let freezeMs: number | undefined

  const next = await step('start-new', async () => {
    const old = await containers.details(oldName)
    if (!old) throw new CommandError(wireError('NOT_FOUND', `${oldName} disappeared`))
    const client = { slug: p.slug, clientId: p.clientId }
    const adoptLog = stepLog(ctx, 'start-new')
    await adoptContainerFiles(drivers.files, client, old, p.profile.dataPaths ?? [], adoptLog, ctx.signal)
    const env = successorEnv(old.env, old.imageEnv, version)
    if (env.DB_PASSWORD) secrets.push(env.DB_PASSWORD)
    // createAndStart removes a container it could not start, so only a started one counts as made.
    const started = await containers.createAndStart({
      slug: p.slug,
      name: nextName,
      clientId: p.clientId,
      image: p.image,
      env,
      containerPort: p.profile.containerPort,
      memoryMb: p.memoryLimitMb ?? old.memoryMb ?? deps.config.containerMemoryMb,
      cpus: p.cpuLimit ?? old.cpus ?? deps.config.containerCpus,
      dataPaths: p.profile.dataPaths,
    })
    state.newStarted = true
    await save()
    stepLog(
      ctx,
      'start-new',
    )(
      `${nextName} started from ${p.image} beside ${oldName}, same environment, port ${deps.config.containerBind}:${started.hostPort}`,
    )
    return started
  })

  await step('migrate', () =>
    containers.execNamed(nextName, p.profile.migrate, {
      redact: secrets,
      timeoutMs: MIGRATE_TIMEOUT_MS,
      signal: ctx.signal,
      onLine: (line, stream) => ctx.log(line, { step: 'migrate', stream }),
    }),
  )

  const probe = async (name: string, via: 'nginx' | 'direct') => {
    const withinMs = deps.config.healthTimeoutMs
    const outcome = await probeHealth(drivers, deps.config, {
      ...state,
      hostPort: next.hostPort,
      via,
      withinMs,
      signal: ctx.signal,
    })
    if (!outcome.available) throw new Error(unhealthy(outcome, withinMs))
    stepLog(ctx, name)(`${outcome.how} answered ${outcome.statusCode} in ${outcome.latencyMs} ms`)
  }
  await step('health', () => probe('health', 'direct'))

  await step('switch-site', async () => {
    const log = stepLog(ctx, 'switch-site')
    const target: SiteSpec = { ...state.site, upstreamPort: next.hostPort }
    // Marked first: apply() puts the old file back itself when nginx -t fails, so re-applying the old is harmless.
    state.siteSwitched = true
    await save()
    await sites.apply(target)
    log(`${sites.fileOf(p.slug)} points at ${nextName} (port ${next.hostPort}), nginx -t passed, nginx reloaded`)
    // Stopped at the freeze already; again in case something started it, so only the new container can answer.
    await containers.stopNamed(oldName)
    log(`${oldName} stopped (kept until cleanup)`)
    if (state.frozen) {
      freezeMs = await thawWrites(drivers, p.slug, state.frozen, deps.now)
      delete state.frozen
      await save()
      log(`writes unfrozen: the client was in maintenance for ${freezeMs} ms`)
    }
    await probe('switch-site', 'nginx')
  })

  await step('settings', async () => {
    const settings = settingsFor(p.settings, version)
    await db.writeSettings(dbName, settings)
    stepLog(ctx, 'settings')(`cloud_settings.version = ${settings.version ?? 'none'}`)
  })

  await step('cleanup', async () => {
    const log = stepLog(ctx, 'cleanup')
    await containers.removeNamed(oldName)
    state.oldRemoved = true
    await save()
    log(`${oldName} removed`)
    await containers.rename(nextName, oldName)
    log(`${nextName} renamed to ${oldName}`)
  })

  ctx.log(
    `client ${p.slug} runs ${p.image}${imageVersion ? ` (version ${imageVersion})` : ''}; snapshot kept at ${state.snapshot}`,
    { step: 'done' },
  )
  return {
    containerId: next.id,
    image: p.image,
    version: imageVersion ?? null,
    ...(freezeMs === undefined ? {} : { freezeMs }),
  }
}

/** The settings row a switch writes: the payload's, with the new version when it is a valid one. */
function settingsFor(settings: ClientSettings, version: string | undefined): ClientSettings {
  const checked = ClientSettings.shape.version.safeParse(version ?? null)
  return { ...settings, version: checked.success ? checked.data : null }
}
