import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import {
  ClientCreatePayload,
  containerNameForSlug,
  dbNameForSlug,
  LARAVEL_PROFILE,
  wireErrorFromZod,
  type ClientCreateResult,
} from '@alfa/protocol'
import { CommandError, type CommandContext, type CommandHandler, type HandlerDeps } from '../../command-context.ts'
import { dbAdminFor, type DbAdmin } from '../../drivers/database.ts'
import { confirmSite, describeAnswer } from '../../drivers/confirm-site.ts'
import { clientDrivers, type ClientDrivers } from './drivers.ts'
import { containerEnv } from './env.ts'
import { imageVersion } from './image-version.ts'
import { stepLog, stepRunner, rollbackSteps } from './steps.ts'

/** Migrations and the owner's password may take a while on a big app; the command's deadline bounds them too. */
const APP_COMMAND_TIMEOUT_MS = 15 * 60_000
const CERTBOT_TIMEOUT_MS = 5 * 60_000
/** Removing what a create made takes seconds; bounded so it ends within the dispatcher's rollback grace. */
const ROLLBACK_TIMEOUT_MS = 90_000

/** What this run made, so a failure removes exactly that. */
interface Made {
  database: boolean
  container: boolean
  site: boolean
  /** The client had no data volume before this run: the ones it made go with a rollback. */
  volumes?: { clientId: string }
}

/**
 * client.create: database → container → nginx → tls → settings → migrate → owner → health. Re-running after a
 * half-done run converges: the database is reused (its data is the client's; the user gets a new password), the
 * container is ours by label and is replaced, the site is rewritten. On failure this run's pieces are removed.
 */
export const clientCreate: CommandHandler<'client.create'> = async (ctx, deps) => {
  // Parsed before dispatch already; again here because this handler turns the values into SQL, argv and nginx.conf.
  const parsed = ClientCreatePayload.safeParse(ctx.payload)
  if (!parsed.success)
    throw new CommandError(wireErrorFromZod('INVALID_PAYLOAD', 'client.create payload', parsed.error))
  const p = parsed.data
  const drivers = clientDrivers(deps, ctx.signal)
  const db = dbAdminFor(p.dbEngine, deps)
  const made: Made = { database: false, container: false, site: false }
  try {
    return await runPipeline(ctx, deps, p, drivers, db, made)
  } catch (error) {
    // The rollback has a signal of its own: it also runs when the deadline (the aborted ctx.signal) ended the create.
    await rollback(ctx, p.slug, clientDrivers(deps, AbortSignal.timeout(ROLLBACK_TIMEOUT_MS)), db, made)
    throw error
  }
}

async function runPipeline(
  ctx: CommandContext<'client.create'>,
  deps: HandlerDeps,
  p: ClientCreatePayload,
  { sites, containers, probeTarget, files }: ClientDrivers,
  db: DbAdmin,
  made: Made,
): Promise<ClientCreateResult> {
  const profile = p.profile ?? LARAVEL_PROFILE
  const step = stepRunner(ctx)
  const dbName = dbNameForSlug(p.slug)
  const dbPassword = randomBytes(24).toString('base64url')
  // Both secrets are removed from every line of app output and every error message this command reports.
  const secrets = [dbPassword, p.ownerPassword]
  const url = `http://${p.domain}`
  // The image says what version the client runs: container env, cloud_settings and the result carry it.
  const version = (await imageVersion(deps.docker, p.image)) ?? p.settings.version ?? undefined
  const settings = { ...p.settings, version: version ?? null }

  // Journaled for a restart (never the secrets): which client, and below whether this run made the database.
  await ctx.checkpoint({ slug: p.slug, dbEngine: p.dbEngine })
  await step('database', async () => {
    // Only a database this run makes may be dropped by a recovery: one that existed holds the client's data.
    await ctx.checkpoint({ dbCreatedByRun: !(await db.exists(dbName)).database })
    const created = await db.create(dbName, dbPassword)
    made.database = created.database
    stepLog(
      ctx,
      'database',
    )(
      `${p.dbEngine} database and user ${dbName} ${created.database ? 'created' : 'exist from an earlier run: reused, new password'}`,
    )
  })

  const container = await step('container', async () => {
    const log = stepLog(ctx, 'container')
    if (await containers.remove(p.slug)) log(`removed ${containerNameForSlug(p.slug)} left by an earlier run`)
    const env = containerEnv(p.env, {
      dbConnection: db.laravelConnection,
      dbHost: deps.config.dbHostForContainers,
      dbPort: String(db.port),
      dbName,
      dbUser: dbName,
      dbPassword,
      url: p.tls ? `https://${p.domain}` : url,
      version,
    })
    // Volumes that existed before hold the client's files (a re-run after a failed one): only new ones may go.
    const client = { slug: p.slug, clientId: p.clientId }
    if ((await files.list(client)).length === 0) {
      made.volumes = client
      await ctx.checkpoint({ volumesCreatedByRun: p.clientId })
    }
    made.container = true
    const started = await containers.createAndStart({
      slug: p.slug,
      clientId: p.clientId,
      image: p.image,
      env,
      containerPort: profile.containerPort,
      memoryMb: p.memoryLimitMb ?? deps.config.containerMemoryMb,
      cpus: p.cpuLimit ?? deps.config.containerCpus,
      dataPaths: profile.dataPaths,
    })
    log(
      `${started.name} started from ${p.image}, port ${profile.containerPort} published on ${deps.config.containerBind}:${started.hostPort}`,
    )
    return started
  })

  const site = { slug: p.slug, domain: p.domain, upstreamPort: container.hostPort, tls: false }
  const siteFile = await step('nginx', async () => {
    await sites.ensurePages()
    made.site = true
    const file = await sites.apply(site)
    stepLog(ctx, 'nginx')(`${file} written, nginx -t passed, nginx reloaded`)
    return file
  })

  const tls = await step('tls', async () => {
    const log = stepLog(ctx, 'tls')
    if (!p.tls) {
      log('skipped: TLS not requested for this client')
      return false
    }
    await fs.mkdir(deps.config.acmeWebroot, { recursive: true })
    // Fixed flags, exactly what the sudoers rule allows; the domain was validated by the protocol schema.
    const argv = [
      ...deps.config.certbotArgvPrefix,
      'certonly',
      '--non-interactive',
      '--agree-tos',
      '--keep-until-expiring',
    ]
    argv.push('--webroot', '--webroot-path', deps.config.acmeWebroot, '-d', p.domain)
    await deps.exec(argv, {
      timeoutMs: CERTBOT_TIMEOUT_MS,
      signal: ctx.signal,
      onLine: (line, stream) => ctx.log(line, { step: 'tls', stream }),
    })
    await sites.apply({ ...site, tls: true })
    log(`certificate for ${p.domain} in place, site serves HTTPS`)
    return true
  })

  await step('settings', async () => {
    await db.writeSettings(dbName, settings)
    stepLog(
      ctx,
      'settings',
    )(`cloud_settings written (maintenance ${p.settings.maintenance}, expire_date ${p.settings.expireDate ?? 'none'})`)
  })

  const appCommand = (name: string, argv: readonly string[], stdin?: string) =>
    containers.exec(p.slug, argv, {
      ...(stdin === undefined ? {} : { stdin }),
      redact: secrets,
      timeoutMs: APP_COMMAND_TIMEOUT_MS,
      signal: ctx.signal,
      onLine: (line, stream) => ctx.log(line, { step: name, stream }),
    })

  await step('migrate', () => appCommand('migrate', profile.migrate))

  await step('owner', async () => {
    // The login is validated to a narrow alphabet; the password goes on stdin only and is redacted everywhere.
    const argv = profile.setOwnerPassword.map((arg) => arg.replaceAll('{login}', p.ownerLogin))
    await appCommand('owner', argv, p.ownerPassword)
    stepLog(ctx, 'owner')(`password of ${p.ownerLogin} set`)
  })

  await step('health', async () => {
    // Through nginx with the client's Host header, and answered by this client's site (a default server would answer
    // any Host with its own 200): confirm-site.ts.
    const answer = await confirmSite(
      {
        target: probeTarget,
        pagesDir: deps.config.pagesDir,
        withinMs: deps.config.healthTimeoutMs,
        signal: ctx.signal,
      },
      p,
      'healthy',
      profile.healthPath,
    )
    stepLog(
      ctx,
      'health',
    )(
      `http://${p.domain}${profile.healthPath} through nginx: ${describeAnswer(answer, p.slug)} in ${answer.latencyMs} ms`,
    )
  })

  ctx.log(`client ${p.slug} is ready at ${tls ? 'https' : 'http'}://${p.domain}`, { step: 'done' })
  return {
    containerId: container.id,
    containerName: container.name,
    dbName,
    siteFile,
    url: `${tls ? 'https' : 'http'}://${p.domain}`,
    tls,
    ...(version ? { version } : {}),
  }
}

/** Removes what this run made; each removal is tried even when another fails, and failures are logged, not thrown. */
async function rollback(
  ctx: CommandContext<'client.create'>,
  slug: string,
  d: ClientDrivers,
  db: DbAdmin,
  made: Made,
): Promise<void> {
  const { attempt } = rollbackSteps(ctx)
  // The container and the site are ours by name and label, and useless without each other: always removed.
  if (made.container) await attempt(`container ${containerNameForSlug(slug)} removed`, () => d.containers.remove(slug))
  const volumes = made.volumes
  if (volumes) await attempt('data volumes removed', () => d.files.remove({ slug, clientId: volumes.clientId }))
  if (made.site) await attempt('site removed, nginx reloaded', () => d.sites.remove(slug))
  // A database that existed before this run may hold the client's data: only one made by this run is dropped.
  if (made.database)
    await attempt(`database and user ${dbNameForSlug(slug)} dropped`, () => db.drop(dbNameForSlug(slug)))
}
