import fs from 'node:fs/promises'
import {
  ClientDeployPayload,
  containerNameForSlug,
  dbNameForSlug,
  wireError,
  wireErrorFromZod,
  type ClientDeployResult,
} from '@alfa/protocol'
import { CommandError, dockerFailure, type CommandHandler, type HandlerDeps } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { siteFileName } from '../../drivers/nginx-sites.ts'
import { readInside } from '../../drivers/safe-files.ts'
import { recreateContainer, recreateReason, wantedContainer, type CurrentContainer } from './deploy-container.ts'
import { clientDrivers, type ClientDrivers } from './drivers.ts'
import { probeHealth, unhealthy } from './health.ts'
import { stepLog, stepRunner } from './steps.ts'
import { adoptContainerFiles } from './adopt-files.ts'

/**
 * client.deploy: database (must exist) → container → nginx → flags → settings → restart → health. Each piece is
 * compared with the record and rewritten only when missing or different, so a re-run converges and a healthy client
 * only gets its restart. Nothing is deleted but a container that does not match the record (its data lives in
 * the database, which is never dropped or created empty).
 */
export const clientDeploy: CommandHandler<'client.deploy'> = async (ctx, deps) => {
  const parsed = ClientDeployPayload.safeParse(ctx.payload)
  if (!parsed.success)
    throw new CommandError(wireErrorFromZod('INVALID_PAYLOAD', 'client.deploy payload', parsed.error))
  const p = parsed.data
  const drivers = clientDrivers(deps, ctx.signal)
  const { containers, sites, files } = drivers
  const db = dbAdminFor(p.dbEngine, deps)
  const step = stepRunner(ctx)
  const name = containerNameForSlug(p.slug)
  const dbName = dbNameForSlug(p.slug)

  const current = await currentContainer(drivers, deps, name)
  if (current && current.clientId !== p.clientId)
    throw new CommandError(
      wireError('CONFLICT', `${name} belongs to another client (${current.clientId ?? 'none'}): not touched`),
    )

  await step('database', async () => {
    const found = await db.exists(dbName)
    if (!found.database)
      throw new CommandError(
        wireError(
          'NOT_FOUND',
          `database ${dbName} is missing: restore it from a backup (a deploy never makes it empty)`,
        ),
      )
    stepLog(ctx, 'database')(`${dbName} is in place`)
  })

  const tls = p.tls && (await certificateExists(deps, p.domain))
  const wanted = wantedContainer(p, deps, tls)
  const reason = recreateReason(current, wanted)
  const container = await step('container', async () => {
    const log = stepLog(ctx, 'container')
    if (reason === undefined) {
      log(`${name} matches the record (${wanted.image}, port ${current!.hostPort})`)
      return { id: current!.id, hostPort: current!.hostPort! }
    }
    // A container from before data volumes: its files are copied into them before it is replaced.
    if (current) {
      const client = { slug: p.slug, clientId: p.clientId }
      await adoptContainerFiles(files, client, current, p.profile.dataPaths ?? [], log, ctx.signal)
    }
    const made = await recreateContainer(p, deps, containers, db, current, wanted)
    log(`${name} recreated from ${wanted.image} (${reason}), port ${made.hostPort}`)
    return made
  })

  const siteWritten = await step('nginx', async () => {
    const log = stepLog(ctx, 'nginx')
    await sites.ensurePages()
    const site = { slug: p.slug, domain: p.domain, upstreamPort: container.hostPort, tls }
    const onDisk = await readInside(deps.config.nginxSitesDir, siteFileName(p.slug))
    if (onDisk === sites.render(site)) {
      log(`${sites.fileOf(p.slug)} is as it should be`)
      return false
    }
    // apply() runs nginx -t and puts the previous file back when nginx refuses the new one.
    await sites.apply(site)
    log(`${sites.fileOf(p.slug)} ${onDisk === undefined ? 'restored' : 'rewritten'}, nginx -t passed, nginx reloaded`)
    return true
  })

  await step('flags', async () => {
    const flags = { maintenance: p.settings.maintenance, expired: p.expired }
    await sites.setFlags(p.slug, flags)
    stepLog(ctx, 'flags')(`maintenance ${flags.maintenance}, expired ${flags.expired}`)
  })

  await step('settings', async () => {
    await db.writeSettings(dbName, p.settings)
    stepLog(ctx, 'settings')(`cloud_settings written (version ${p.settings.version ?? 'none'})`)
  })

  await step('restart', async () => {
    if (reason !== undefined) return stepLog(ctx, 'restart')(`${name} was just started`)
    await containers.restart(name)
    stepLog(ctx, 'restart')(`${name} restarted`)
  })

  await step('health', async () => {
    const withinMs = deps.config.healthTimeoutMs
    const outcome = await probeHealth(drivers, deps.config, {
      slug: p.slug,
      domain: p.domain,
      healthPath: p.profile.healthPath,
      hostPort: container.hostPort,
      via: 'nginx',
      withinMs,
      signal: ctx.signal,
    })
    if (!outcome.available) throw new Error(unhealthy(outcome, withinMs))
    stepLog(ctx, 'health')(`${outcome.how} answered ${outcome.statusCode} in ${outcome.latencyMs} ms`)
  })

  const result: ClientDeployResult = {
    containerId: container.id,
    hostPort: container.hostPort,
    recreated: reason ?? null,
    siteWritten,
    healthy: true,
  }
  return result
}

/** The client's container with its image reference, or undefined when there is none (CONFLICT when not ours). */
async function currentContainer(d: ClientDrivers, deps: HandlerDeps, name: string) {
  const details = await d.containers.details(name)
  if (!details) return undefined
  const info = await deps.docker
    .getContainer(details.id)
    .inspect()
    .catch((error: unknown) => {
      throw dockerFailure(error, `inspecting ${name}`)
    })
  const current: CurrentContainer = { ...details, image: info.Config.Image }
  return current
}

/** TLS is served only with a certificate in place (certbot's layout); otherwise the site stays plain HTTP. */
async function certificateExists(deps: HandlerDeps, domain: string): Promise<boolean> {
  return fs.access(`${deps.config.certDir}/${domain}/fullchain.pem`).then(
    () => true,
    () => false,
  )
}
