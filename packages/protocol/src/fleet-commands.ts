import { z } from 'zod'
import { AppProfile } from './app-profile.ts'
import { ClientSettings } from './client-commands.ts'
import { dbEngineSchema } from './db-engine.ts'
import { domainSchema } from './hostnames.ts'
import { imageRefSchema } from './image-refs.ts'
import { LIMITS } from './limits.ts'
import { containerIdSchema, containerNameSchema, containerStateSchema } from './metrics.ts'
import { dbIdentifierSchema, slugSchema } from './names.ts'
import { absolutePathSchema } from './paths.ts'
import { portSchema, uuidSchema } from './scalars.ts'
import { boundedText } from './string-rules.ts'

/** Most clients one server holds in any report (maxClients is 100 by default; room for orphans beside them). */
const MAX_CLIENTS = LIMITS.containers

/**
 * `server.inventory`: what this server has of ours, read-only (containers by label, nginx sites, flag files,
 * client databases), so the master can compare it with its records before a deploy.
 */
export const ServerInventoryPayload = z.strictObject({
  /** The engine holding this server's client databases. */
  dbEngine: dbEngineSchema,
  /** Clients the master expects here: their databases are looked up (besides those of any slug found). */
  slugs: z.array(slugSchema).max(MAX_CLIENTS),
})
export type ServerInventoryPayload = z.infer<typeof ServerInventoryPayload>

/** One container carrying this server's label. */
export const InventoryContainer = z.object({
  /** Docker's id. */
  id: containerIdSchema,
  /** alfa-<slug>, or alfa-<slug>-next while a switch runs. */
  name: containerNameSchema,
  /** The alfa.slug label, when valid. */
  slug: slugSchema.optional(),
  /** The alfa.client label, when a valid id: a container without one (or with an unknown one) is an orphan. */
  clientId: uuidSchema.optional(),
  /** The image reference it was created from. */
  image: boundedText(512),
  state: containerStateSchema,
  /** Host port the app's port is published on; null when not published. */
  hostPort: portSchema.nullable(),
  /** Container limits; null when unlimited. */
  memoryMb: z.int().nonnegative().nullable(),
  cpus: z.number().nonnegative().nullable(),
  /** The APP_URL it was given (its domain is what the master compares), null when absent. */
  appUrl: boundedText(LIMITS.shortText).nullable(),
  /** sha256 of its environment without the image's own variables and without secrets, to see a change at a glance. */
  envHash: z.string().regex(/^[a-f0-9]{64}$/),
})
export type InventoryContainer = z.infer<typeof InventoryContainer>

/** One alfa-<slug>.conf in the sites directory. */
export const InventorySite = z.object({
  slug: slugSchema,
  file: absolutePathSchema,
  /** server_name, null when the file is not one the agent rendered. */
  domain: domainSchema.nullable(),
  /** proxy_pass port, null when absent. */
  upstreamPort: portSchema.nullable(),
  tls: z.boolean(),
})
export type InventorySite = z.infer<typeof InventorySite>

/** The flag files of one client that exist (a slug with neither is not listed). */
export const InventoryFlags = z.object({ slug: slugSchema, maintenance: z.boolean(), expired: z.boolean() })
export type InventoryFlags = z.infer<typeof InventoryFlags>

/** Whether a client database (and its user) exists. */
export const InventoryDatabase = z.object({
  slug: slugSchema,
  name: dbIdentifierSchema,
  database: z.boolean(),
  user: z.boolean(),
})
export type InventoryDatabase = z.infer<typeof InventoryDatabase>

export const ServerInventoryResult = z.object({
  containers: z.array(InventoryContainer).max(MAX_CLIENTS),
  sites: z.array(InventorySite).max(MAX_CLIENTS),
  flags: z.array(InventoryFlags).max(MAX_CLIENTS),
  databases: z.array(InventoryDatabase).max(MAX_CLIENTS),
})
export type ServerInventoryResult = z.infer<typeof ServerInventoryResult>

/**
 * `client.deploy`: make one client's configuration on this server what the master's record says: the nginx site,
 * the container (recorded image, environment, limits, a published port) when missing or different, the flag
 * files and cloud_settings; then restart it and probe its health through nginx. Idempotent; never deletes data
 * (a missing database is an error, not something to create empty).
 */
export const ClientDeployPayload = z.strictObject({
  /** The master's id, checked against the container label and put on a recreated container. */
  clientId: uuidSchema,
  slug: slugSchema,
  /** The site's server_name and the container's APP_URL. */
  domain: domainSchema,
  /** The image the record says the client runs. */
  image: imageRefSchema,
  dbEngine: dbEngineSchema,
  /** Port and health path of the app in that image. */
  profile: AppProfile,
  /** The cloud_settings row to write. */
  settings: ClientSettings,
  /** Serve the expiry page (decided by the master's clock and time zone). */
  expired: z.boolean(),
  /** Serve HTTPS when the server has TLS and the certificate is in place. */
  tls: z.boolean(),
  /** Recorded limits; absent means the server's defaults. */
  memoryLimitMb: z.int().min(64).max(1_048_576).optional(),
  cpuLimit: z.number().positive().max(256).optional(),
})
export type ClientDeployPayload = z.infer<typeof ClientDeployPayload>

/** What a deploy changed; a healthy client reports only the restart. */
export const ClientDeployResult = z.object({
  containerId: containerIdSchema,
  hostPort: portSchema,
  /** Why the container was recreated (missing, image, limits, url, stopped), or null when it was kept. */
  recreated: boundedText(LIMITS.shortText).nullable(),
  /** Whether the site file was (re)written. */
  siteWritten: z.boolean(),
  /** The health URL answered 2xx after the restart. */
  healthy: z.boolean(),
})
export type ClientDeployResult = z.infer<typeof ClientDeployResult>
