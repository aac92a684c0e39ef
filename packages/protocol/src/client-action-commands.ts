import { z } from 'zod'
import { AppProfile } from './app-profile.ts'
import { ClientSettings, ownerLoginSchema, ownerPasswordSchema } from './client-commands.ts'
import { dbEngineSchema } from './db-engine.ts'
import { domainSchema } from './hostnames.ts'
import { imageRefSchema } from './image-refs.ts'
import { LIMITS } from './limits.ts'
import { containerIdSchema } from './metrics.ts'
import { slugSchema } from './names.ts'
import { uuidSchema } from './scalars.ts'
import { boundedText } from './string-rules.ts'

/** The app operations the master may ask for; each maps to one argv (or SQL) of the client's app profile. */
export const clientAppActionSchema = z.enum(['migrate', 'demoSeed', 'demoUnseed', 'setOwnerPassword', 'usersCount'])
export type ClientAppAction = z.infer<typeof clientAppActionSchema>

/** `client.app`: run one app operation of the profile inside the client's container (or its SQL on its database). */
export const ClientAppPayload = z.strictObject({
  /** Which client: its container is alfa-<slug>, its database alfa_<slug>. */
  slug: slugSchema,
  /** Which operation; never an argv from the wire, only a name the profile resolves. */
  action: clientAppActionSchema,
  /** The profile the argv and SQL come from. */
  profile: AppProfile,
  /** The database engine (for usersCount). */
  dbEngine: dbEngineSchema,
  /** For setOwnerPassword: replaces {login} in the argv. */
  ownerLogin: ownerLoginSchema.optional(),
  /** SECRET, for setOwnerPassword: goes to the app on stdin, never argv, never logged or journalled in clear. */
  ownerPassword: ownerPasswordSchema.optional(),
})
export type ClientAppPayload = z.infer<typeof ClientAppPayload>

export const ClientAppResult = z.object({
  /** The app's exit code (0 on success; failures come back as EXEC_FAILED errors with the output tail). */
  exitCode: z.int(),
  /** For usersCount: the number the profile's SQL returned. */
  usersCount: z.int().nonnegative().optional(),
})
export type ClientAppResult = z.infer<typeof ClientAppResult>

/**
 * `client.configure`: bring the server in line with the client's settings: the cloud_settings row in its database,
 * and the flag files nginx checks to serve the maintenance or expiry page by itself (so they work with the app down).
 */
export const ClientConfigurePayload = z.strictObject({
  /** The master's id, checked against the container label. */
  clientId: uuidSchema,
  /** Which client. */
  slug: slugSchema,
  /** The engine holding cloud_settings. */
  dbEngine: dbEngineSchema,
  /** The full settings row to write. */
  settings: ClientSettings,
  /** Serve the expiry page (the expire date has passed); decided by the master's clock and time zone. */
  expired: z.boolean(),
  /** A new domain for the client's site: the vhost is rewritten (nginx -t, reload; the old file back on failure). */
  domain: domainSchema.optional(),
  /**
   * Memory and CPU limits to apply to the running container in place (docker update, no restart); null is the
   * agent's default, as at create. Absent: the limits are not touched. Sent only to agents announcing
   * CONFIGURE_LIMITS (an older agent refuses the field: payloads are strict).
   */
  limits: z
    .strictObject({
      memoryMb: z.int().min(64).max(1_048_576).nullable(),
      cpus: z.number().positive().max(256).nullable(),
    })
    .optional(),
})
export type ClientConfigurePayload = z.infer<typeof ClientConfigurePayload>

export const ClientConfigureResult = z.object({
  /** What nginx serves now. */
  maintenance: z.boolean(),
  expired: z.boolean(),
  /** The limits the container has now, read back after `limits` was applied. */
  limits: z.object({ memoryMb: z.int(), cpus: z.number() }).optional(),
})
export type ClientConfigureResult = z.infer<typeof ClientConfigureResult>

/** `client.restart`: restart the client's container and wait until its health path answers through nginx. */
export const ClientRestartPayload = z.strictObject({
  slug: slugSchema,
  /** Host header of the health probe. */
  domain: domainSchema,
  /** Health path and port. */
  profile: AppProfile,
})
export type ClientRestartPayload = z.infer<typeof ClientRestartPayload>

export const ClientRestartResult = z.object({
  /** Whether the app answered healthy after the restart. */
  healthy: z.boolean(),
})
export type ClientRestartResult = z.infer<typeof ClientRestartResult>

/**
 * `client.switch`: move the client to another image safely: snapshot its database, start the new container beside
 * the old one, migrate, probe health, switch the site, remove the old container; on any failure restore the
 * snapshot and keep (or restart) the old container.
 */
export const ClientSwitchPayload = z.strictObject({
  clientId: uuidSchema,
  slug: slugSchema,
  domain: domainSchema,
  dbEngine: dbEngineSchema,
  /** The image to switch to. */
  image: imageRefSchema,
  /** The profile of the new image. */
  profile: AppProfile,
  /**
   * The health path of the image the client runs now (its own profile's): a rollback brings that version back and
   * confirms it there, not on the new image's path. Sent only to agents announcing SWITCH_ROLLBACK_HEALTH (an older
   * agent refuses the field: payloads are strict); without it the rollback probes the new image's path.
   */
  rollbackHealthPath: AppProfile.shape.healthPath.optional(),
  /** cloud_settings after the switch (its version is the new one). */
  settings: ClientSettings,
  /** Container limits, as at create. */
  memoryLimitMb: z.int().min(64).max(1_048_576).optional(),
  cpuLimit: z.number().positive().max(256).optional(),
})
export type ClientSwitchPayload = z.infer<typeof ClientSwitchPayload>

export const ClientSwitchResult = z.object({
  /** The container now serving the client. */
  containerId: containerIdSchema,
  /** The image it runs. */
  image: boundedText(LIMITS.shortText),
  /** The version label of that image, when it has one. */
  version: boundedText(64).nullable(),
  /** How long writes were frozen (maintenance page, old container stopped), in ms: the switch's downtime. */
  freezeMs: z.int().nonnegative().optional(),
})
export type ClientSwitchResult = z.infer<typeof ClientSwitchResult>
