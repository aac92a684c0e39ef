import { z } from 'zod'
import { AppProfile } from './app-profile.ts'
import { dbEngineSchema } from './db-engine.ts'
import { domainSchema } from './hostnames.ts'
import { imageRefSchema } from './image-refs.ts'
import { LIMITS } from './limits.ts'
import { containerIdSchema, containerNameSchema } from './metrics.ts'
import { dbIdentifierSchema, envKeySchema, envValueSchema, slugSchema } from './names.ts'
import { absolutePathSchema } from './paths.ts'
import { isoDateSchema, uuidSchema } from './scalars.ts'

/** The laboratory administrator's login in the app; it ends up in an argv template, hence the narrow alphabet. */
export const ownerLoginSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}$/, 'a login is 1–128 letters, digits and . _ @ + -')

/** SECRET: a password for the app's administrator; no control characters, so it stays one line on stdin. */
export const ownerPasswordSchema = z
  .string()
  .min(8)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, 'a password must not contain control characters')

/** The `cloud_settings` row kept in the client's own database, which the app reads to decide what to show. */
export const ClientSettings = z.strictObject({
  /** Show the maintenance page instead of the app. */
  maintenance: z.boolean(),
  /** Last day the system may be used (YYYY-MM-DD); null for no end. */
  expireDate: isoDateSchema.nullable(),
  /** Show "turbostart" on launch. */
  turbostart: z.boolean(),
  /** Ask the short-tutorial question. */
  tutorial: z.boolean(),
  /** The app version the client runs, shown to its users; null until known. */
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'a version such as 2.4.1-master')
    .nullable(),
})
export type ClientSettings = z.infer<typeof ClientSettings>

/** `client.create`: make the database, the container, the nginx site (and certificate) and the settings of a client. */
export const ClientCreatePayload = z.strictObject({
  /** The master's id for the client, put on the container's alfa.client label to find it again. */
  clientId: uuidSchema,
  /** Names the container, database and site file. */
  slug: slugSchema,
  /** The site's server_name and the certificate's name. */
  domain: domainSchema,
  /** The local image the container runs. */
  image: imageRefSchema,
  /** Which engine hosts the client's database. */
  dbEngine: dbEngineSchema,
  /** Extra container environment from the app profile; names are POSIX-safe, values carry no NUL. */
  env: z
    .record(envKeySchema, envValueSchema)
    .refine((env) => Object.keys(env).length <= LIMITS.envEntries, 'too many environment variables'),
  /** The laboratory administrator's login in the app; ends up in an argv template, hence the narrow alphabet. */
  ownerLogin: ownerLoginSchema,
  /**
   * SECRET: the administrator's initial password. Goes to the app on stdin (never argv), is never logged or
   * journalled in clear; no control characters, so it stays one line on stdin.
   */
  ownerPassword: ownerPasswordSchema,
  /** Container memory limit; absent means the server's default. */
  memoryLimitMb: z.int().min(64).max(1_048_576).optional(),
  /** Container CPU limit in cores; absent means the server's default. */
  cpuLimit: z.number().positive().max(256).optional(),
  /** Whether to obtain a certificate and serve HTTPS (the server must have TLS enabled). */
  tls: z.boolean(),
  /** The initial `cloud_settings` row. */
  settings: ClientSettings,
  /** How to operate the app in the image (port, health path, migrate, owner password, …); Laravel's when absent. */
  profile: AppProfile.optional(),
})
export type ClientCreatePayload = z.infer<typeof ClientCreatePayload>

/** Where the pieces of a created client are, for the operation log and later commands. */
export const ClientCreateResult = z.object({
  /** Docker's id of the client's container. */
  containerId: containerIdSchema,
  /** Its name (alfa-<slug>). */
  containerName: containerNameSchema,
  /** The client's database (and user) name. */
  dbName: dbIdentifierSchema,
  /** The nginx site file written. */
  siteFile: absolutePathSchema,
  /** The direct link to the client's cloud, as the Mol admin shows it. */
  url: z
    .string()
    .max(300)
    .regex(/^https?:\/\/[a-z0-9.-]+(?::[0-9]{1,5})?\/?$/, 'an http(s) URL of the domain'),
  /** Whether HTTPS is in place (a certificate was obtained or already present). */
  tls: z.boolean(),
  /** The version the client runs: its image's alfa.version label, else its tag (the master shows it at once). */
  version: z.string().min(1).max(128).optional(),
})
export type ClientCreateResult = z.infer<typeof ClientCreateResult>

/** `client.delete`: dump the database into the backup directory, then remove container, site and database. */
export const ClientDeletePayload = z.strictObject({
  /** The master's id, to match the container's label before removing anything. */
  clientId: uuidSchema,
  /** Names the container, database and site file. */
  slug: slugSchema,
  /** Which engine holds the database to dump and drop. */
  dbEngine: dbEngineSchema,
  /**
   * A move's cleanup on the old server: the final dump and files archive are named and kept as a move's
   * (`<slug>-move-<stamp>`), so they go after the agent's retention for moves instead of staying for good.
   */
  movedAway: z.literal(true).optional(),
})
export type ClientDeletePayload = z.infer<typeof ClientDeletePayload>

/** A verified archive of a client's files (its data volumes), with the figures a receiver checks it against. */
export const FilesArchive = z.object({
  /** Where the archive is kept on the server. */
  path: absolutePathSchema,
  /** SHA-256 of the archive's bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Size of the archive. */
  archiveBytes: z.int().nonnegative(),
  /** Entries of every kind (directories, files, links). */
  entries: z.int().nonnegative(),
  /** Regular files, and the bytes of their contents. */
  files: z.int().nonnegative(),
  fileBytes: z.int().nonnegative(),
})
export type FilesArchive = z.infer<typeof FilesArchive>

/** What the delete removed; a second delete reports nothing removed and still succeeds. */
export const ClientDeleteResult = z.object({
  /** The final dump, kept on the server; null when there was no database left to dump. */
  dumpPath: absolutePathSchema.nullable(),
  /** The final archive of the client's files, kept beside the dump; null when it had no data volume left. */
  files: FilesArchive.nullable().optional(),
  /**
   * A move's cleanup (movedAway): when its final dump and files archive go, by the server's setting as it stands
   * (ALFA_AGENT_MOVE_DUMP_KEEP_DAYS; null: kept for good). Absent for any other delete, or from an older agent.
   */
  keptUntil: z.iso.datetime().nullable().optional(),
  /** Which pieces existed and were removed by this run. */
  removed: z.object({
    container: z.boolean(),
    site: z.boolean(),
    database: z.boolean(),
    /** Its data volumes (only once the final files archive is verified). */
    volumes: z.boolean().optional(),
  }),
})
export type ClientDeleteResult = z.infer<typeof ClientDeleteResult>

/** `client.probe`: fetch the client's health URL through nginx, as a visitor would reach it. */
export const ClientProbePayload = z.strictObject({
  /** Which client (for the log and the container check). */
  slug: slugSchema,
  /** The Host header the probe sends to the local nginx. */
  domain: domainSchema,
  /** The app profile's health path; the default (Laravel) profile's when absent. */
  healthPath: AppProfile.shape.healthPath.optional(),
  /**
   * true: the app's own health (a move's or copy's verify), waited for as long as a reboot's, and probed directly
   * on the container's published port while nginx serves the maintenance or expiry page for the client. Absent:
   * what a visitor gets through nginx, briefly (the periodic probe).
   */
  app: z.boolean().optional(),
})
export type ClientProbePayload = z.infer<typeof ClientProbePayload>

/** The outcome of one probe, stored as the client's `available` flag. */
export const ClientProbeResult = z.object({
  /** Whether the app answered with a success status in time. */
  available: z.boolean(),
  /** The HTTP status, or null when nothing answered. */
  statusCode: z.int().min(100).max(599).nullable(),
  /** How long the answer took, in ms. */
  latencyMs: z.int().nonnegative(),
  /** When the probe ran (ms since the epoch). */
  checkedAt: z.int().positive(),
})
export type ClientProbeResult = z.infer<typeof ClientProbeResult>
