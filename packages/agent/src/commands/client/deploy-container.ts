import { randomBytes } from 'node:crypto'
import { containerNameForSlug, dbNameForSlug, volumeNameForData, type ClientDeployPayload } from '@alfa/protocol'
import type { HandlerDeps } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'
import type { ContainerDetails, Containers } from '../../drivers/containers.ts'
import { envValue } from '../server/inventory-files.ts'
import { containerEnv } from './env.ts'

/** What the record asks of the container, with the server's defaults filled in. */
export interface WantedContainer {
  image: string
  memoryMb: number
  cpus: number
  url: string
  /** The data volumes the profile's data paths need mounted (`alfa-<slug>.<key>`). */
  volumes: string[]
}

/** The container as it stands, with the image it was created from (details() does not carry it). */
export type CurrentContainer = ContainerDetails & { image: string }

export function wantedContainer(p: ClientDeployPayload, deps: HandlerDeps, tls: boolean): WantedContainer {
  return {
    image: p.image,
    memoryMb: p.memoryLimitMb ?? deps.config.containerMemoryMb,
    cpus: p.cpuLimit ?? deps.config.containerCpus,
    url: `${tls ? 'https' : 'http'}://${p.domain}`,
    volumes: (p.profile.dataPaths ?? []).map((dataPath) => volumeNameForData(p.slug, dataPath)),
  }
}

/** Why the container must be recreated to match the record, or undefined when it matches (a stopped one is started). */
export function recreateReason(current: CurrentContainer | undefined, wanted: WantedContainer): string | undefined {
  if (!current) return 'missing'
  if (current.image !== wanted.image) return `image ${current.image} instead of ${wanted.image}`
  if (current.hostPort === undefined) return 'its port is not published'
  if (current.memoryMb !== wanted.memoryMb || Math.abs((current.cpus ?? 0) - wanted.cpus) > 1e-6)
    return `limits ${current.memoryMb ?? 'none'} MB / ${current.cpus ?? 'none'} CPU instead of ${wanted.memoryMb} MB / ${wanted.cpus} CPU`
  if (envValue(current.env, 'APP_URL') !== wanted.url) return `APP_URL is not ${wanted.url}`
  if (envValue(current.env, 'DB_PASSWORD') === undefined) return 'its database credentials are missing'
  const unmounted = wanted.volumes.filter((volume) => !current.volumes.includes(volume))
  if (unmounted.length > 0) return `data volume ${unmounted.join(', ')} is not mounted`
  return undefined
}

/**
 * Replaces the client's container with one built from the record. The database user keeps the password the old
 * container held; without an old container (hand-removed) the user gets a new one, since nothing else knows it.
 * The database itself is only ever reused: create() keeps an existing one and its data.
 */
export async function recreateContainer(
  p: ClientDeployPayload,
  deps: HandlerDeps,
  containers: Containers,
  db: DbAdmin,
  current: CurrentContainer | undefined,
  wanted: WantedContainer,
): Promise<{ id: string; hostPort: number; secrets: string[] }> {
  const dbName = dbNameForSlug(p.slug)
  let password = current ? envValue(current.env, 'DB_PASSWORD') : undefined
  if (password === undefined) {
    password = randomBytes(24).toString('base64url')
    await db.create(dbName, password)
  }
  const imageVersion = await deps.docker
    .getImage(p.image)
    .inspect()
    .then((info) => info.Config.Labels?.['alfa.version'])
    .catch(() => undefined)
  const env = containerEnv(
    {},
    {
      dbConnection: db.laravelConnection,
      dbHost: deps.config.dbHostForContainers,
      dbPort: String(db.port),
      dbName,
      dbUser: dbName,
      dbPassword: password,
      url: wanted.url,
      version: p.settings.version ?? imageVersion,
    },
  )
  await containers.remove(p.slug)
  const started = await containers.createAndStart({
    slug: p.slug,
    name: containerNameForSlug(p.slug),
    clientId: p.clientId,
    image: wanted.image,
    env,
    containerPort: p.profile.containerPort,
    memoryMb: wanted.memoryMb,
    cpus: wanted.cpus,
    dataPaths: p.profile.dataPaths,
  })
  return { id: started.id, hostPort: started.hostPort, secrets: [password] }
}
