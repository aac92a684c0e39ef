import type Dockerode from 'dockerode'
import {
  dbNameForSlug,
  LIMITS,
  slugSchema,
  type InventoryContainer,
  type InventoryDatabase,
  type ServerInventoryResult,
} from '@alfa/protocol'
import { dockerFailure, type CommandHandler, type HandlerDeps } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { SLUG_LABEL } from '../../drivers/containers.ts'
import { clientIdOf, containerName, containerState, SERVER_LABEL } from '../container/labels.ts'
import { envHash, envValue, readFlags, readSites } from './inventory-files.ts'

/**
 * server.inventory: what this server has of ours, read-only: containers labelled alfa.server=<this server> (image,
 * state, port, limits, APP_URL, a hash of their environment), the alfa-<slug>.conf sites, the flag files, and the
 * client databases of the slugs expected or found. Nothing is changed, so the master may ask it at any time.
 */
export const serverInventory: CommandHandler<'server.inventory'> = async (ctx, deps) => {
  // Checked against its schema by the dispatcher already.
  const p = ctx.payload
  const containers = await ourContainers(deps)
  const sites = await readSites(deps.config.nginxSitesDir)
  const flags = await readFlags(deps.config.pagesDir)
  const slugs = new Set([...p.slugs, ...containers.flatMap((c) => c.slug ?? []), ...sites.map((s) => s.slug)])
  const db = dbAdminFor(p.dbEngine, deps)
  const databases: InventoryDatabase[] = []
  for (const slug of [...slugs].sort().slice(0, LIMITS.containers)) {
    const name = dbNameForSlug(slug)
    databases.push({ slug, name, ...(await db.exists(name)) })
  }
  ctx.log(
    `${containers.length} containers, ${sites.length} sites, ${flags.length} flagged, ${databases.filter((d) => d.database).length}/${databases.length} databases`,
  )
  const result: ServerInventoryResult = { containers, sites, flags, databases }
  return result
}

async function ourContainers(deps: HandlerDeps): Promise<InventoryContainer[]> {
  let listed: Dockerode.ContainerInfo[]
  try {
    listed = await deps.docker.listContainers({ all: true, filters: { label: [`${SERVER_LABEL}=${deps.serverId}`] } })
  } catch (error) {
    throw dockerFailure(error, 'listing containers')
  }
  const images = new Map<string, Promise<string[]>>()
  const imageEnv = (id: string) => {
    let env = images.get(id)
    if (!env) {
      // An image removed under a stopped container has no env to subtract: hash the container's whole env then.
      env = deps.docker
        .getImage(id)
        .inspect()
        .then((i) => i.Config.Env ?? [])
        .catch(() => [])
      images.set(id, env)
    }
    return env
  }
  const out: InventoryContainer[] = []
  for (const c of listed.slice(0, LIMITS.containers)) {
    let info: Dockerode.ContainerInspectInfo
    try {
      info = await deps.docker.getContainer(c.Id).inspect()
    } catch (error) {
      // Removed between the list and the inspect: it is not there any more.
      if ((error as { statusCode?: unknown }).statusCode === 404) continue
      throw dockerFailure(error, `inspecting ${c.Id}`)
    }
    const env = info.Config.Env ?? []
    const binding = Object.values(info.HostConfig.PortBindings ?? {})[0] as { HostPort?: string }[] | undefined
    const port = Number(binding?.[0]?.HostPort)
    const slug = slugSchema.safeParse(c.Labels?.[SLUG_LABEL])
    out.push({
      id: c.Id,
      name: containerName(c.Names, c.Id),
      ...(slug.success ? { slug: slug.data } : {}),
      ...clientIdOf(c.Labels),
      image: info.Config.Image.slice(0, 512),
      state: containerState(c.State),
      hostPort: Number.isInteger(port) && port > 0 && port < 65536 ? port : null,
      memoryMb: info.HostConfig.Memory ? Math.round(info.HostConfig.Memory / 1024 / 1024) : null,
      cpus: info.HostConfig.NanoCpus ? info.HostConfig.NanoCpus / 1e9 : null,
      appUrl: envValue(env, 'APP_URL')?.slice(0, LIMITS.shortText) ?? null,
      envHash: envHash(env, await imageEnv(info.Image)),
    })
  }
  return out
}
