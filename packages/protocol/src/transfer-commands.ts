import { z } from 'zod'
import { AppProfile } from './app-profile.ts'
import { dbEngineSchema } from './db-engine.ts'
import { domainSchema, hostSchema } from './hostnames.ts'
import { imageRefSchema } from './image-refs.ts'
import { slugSchema } from './names.ts'
import { absolutePathSchema } from './paths.ts'
import { portSchema, uuidSchema } from './scalars.ts'

/**
 * The capability an agent announces when it can send a dump compressed with zstd and load one so received (the
 * `zstd` program runs on its server); a move compresses only between two such agents.
 */
export const TRANSFER_ZSTD = 'transfer.zstd'

/**
 * What an agent announces when it can send and import a MariaDB database as InnoDB tablespace files (its MariaDB's
 * data directory is on its own disk, readable and writable), with the version and page size of that MariaDB: files
 * move only between two servers that announce the same string (an .ibd is imported only by the version that wrote
 * it, or one the import is known to take: the same is the rule kept here). `innodbCapability('10.11.19', 16384)`
 * is `transfer.innodb.10.11.19.16k`.
 */
export const TRANSFER_INNODB_PREFIX = 'transfer.innodb.'
export function innodbCapability(version: string, pageSize: number): string | undefined {
  const release = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})/.exec(version)
  if (!release || !Number.isInteger(pageSize) || pageSize % 1024 !== 0) return undefined
  return `${TRANSFER_INNODB_PREFIX}${release[1]}.${release[2]}.${release[3]}.${pageSize / 1024}k`
}

/** SECRET: the one-time token of one side of a transfer (256 random bits, base64url); never logged. */
export const transferTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a transfer token')
/** A SHA-256 in lower-case hex. */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex')
/** Rows per base table, to prove a restore brought back what the dump held. */
export const RowCountsSchema = z
  .record(z.string().max(200), z.int().min(0))
  .refine((r) => Object.keys(r).length <= 5000)

/** What a files archive holds, counted by its sender and again by its receiver: the two must agree. */
export const FilesCount = z.object({
  /** Entries of every kind (directories, files, links). */
  entries: z.int().min(0),
  /** Regular files. */
  files: z.int().min(0),
  /** Bytes of the regular files' contents. */
  fileBytes: z.int().min(0),
})
export type FilesCount = z.infer<typeof FilesCount>

/** What a transfer's sender streams. */
export const TransferSource = z.discriminatedUnion('kind', [
  /** A verified dump of the client's database, kept in the backup dir (a move's final dump). */
  z.strictObject({ kind: z.literal('dump'), slug: slugSchema, dbEngine: dbEngineSchema }),
  /** `docker save` of one image. */
  z.strictObject({ kind: z.literal('image'), image: imageRefSchema }),
  /**
   * The client's files: a tar of its data volumes (`<key>/…`), kept in the backup dir beside the move's dump; an
   * empty archive when it has none. `clientId` finds the volumes by label (no agent ever served this variant
   * before it gained the field, so making it required breaks no one).
   */
  z.strictObject({ kind: z.literal('files'), slug: slugSchema, clientId: uuidSchema }),
])
export type TransferSource = z.infer<typeof TransferSource>

/** `transfer.send`: stream one source to the master's relay for transfer `transferId` (the target reads it there). */
export const TransferSendPayload = z.strictObject({
  /** The master's id of this transfer (one attempt; a retry is a new id). */
  transferId: uuidSchema,
  /** SECRET: proves to the relay that this agent is the transfer's sender. */
  token: transferTokenSchema,
  /** What to stream. */
  source: TransferSource,
  /**
   * A dump or a files archive: false when the sender is to keep no copy of it once sent (a copy's origin, which a
   * copy must leave as it was); kept otherwise (a move's final dump). A failed attempt's copy is never kept.
   */
  keepCopy: z.boolean().optional(),
  /**
   * A MariaDB dump sent to a target that loads it on arrival: compressed with zstd as it is made (the kept copy is
   * the compressed stream, `<slug>-move-<stamp>.sql.zst`). The master asks for it only when both agents announced
   * TRANSFER_ZSTD.
   */
  compress: z.literal('zstd').optional(),
  /**
   * A compressed MariaDB dump may cross as the tables' InnoDB files (exported while the freeze holds the rows,
   * imported on the target) instead of SQL, when every table allows it; otherwise it is SQL as without. The master
   * asks for it only when both agents announce the same `innodbCapability`.
   */
  tablespaces: z.literal(true).optional(),
})
export type TransferSendPayload = z.infer<typeof TransferSendPayload>

export const TransferSendResult = z.object({
  /** Bytes sent. */
  bytes: z.int().min(0),
  /** SHA-256 of the bytes sent: the target must have received exactly these. */
  sha256: sha256Schema,
  /** A dump: its rows per table at the time of the dump (after the freeze). */
  rowCounts: RowCountsSchema.optional(),
  /** A dump or a files archive: where the kept copy lies on the source (a compressed dump's ends in `.zst`). */
  file: absolutePathSchema.optional(),
  /** A files archive: what it holds, for the target's unpack and the move's verify. */
  archive: FilesCount.optional(),
  /** A dump that crossed as InnoDB tablespace files rather than SQL (asked with `tablespaces`). */
  tablespaces: z.literal(true).optional(),
})
export type TransferSendResult = z.infer<typeof TransferSendResult>

/** `transfer.receive`: read transfer `transferId` from the relay into the agent's spool (never used before checked). */
export const TransferReceivePayload = z.strictObject({
  transferId: uuidSchema,
  /** SECRET: proves to the relay that this agent is the transfer's receiver. */
  token: transferTokenSchema,
  /**
   * A dump: loaded into a fresh database of this client while it arrives instead of waiting in the spool (the load
   * overlaps the dump), and swapped in by `client.restore` only once what arrived hashes to what the sender sent and
   * holds the source's rows. An engine that cannot load a stream spools it as without.
   */
  load: z
    .strictObject({
      slug: slugSchema,
      dbEngine: dbEngineSchema,
      /** The dump arrives compressed (`transfer.send` with `compress`): unpacked on its way into the load. */
      compressed: z.literal('zstd').optional(),
    })
    .optional(),
})
export type TransferReceivePayload = z.infer<typeof TransferReceivePayload>

export const TransferReceiveResult = z.object({
  /** Bytes received and spooled. */
  bytes: z.int().min(0),
  /** SHA-256 of what was received. */
  sha256: sha256Schema,
  /** Loaded into a fresh database as it arrived (payload `load`), rather than spooled. */
  loaded: z.boolean().optional(),
})
export type TransferReceiveResult = z.infer<typeof TransferReceiveResult>

/**
 * `client.restore`: load a received dump into the client's (staged) database, checked first, counted after. A dump
 * already loaded on arrival (`transfer.receive` with `load`) is checked the same way and swapped in.
 */
export const ClientRestorePayload = z.strictObject({
  slug: slugSchema,
  dbEngine: dbEngineSchema,
  /** The spooled (or loaded on arrival) transfer holding the dump. */
  transferId: uuidSchema,
  /** What the sender sent: the spool (or what was loaded) must hash to it before a byte is used. */
  sha256: sha256Schema,
  /**
   * The source's rows per table at its freeze: the restored database must hold exactly these. Absent for a copy of
   * a live origin (it keeps writing after the dump; the dump itself is the truth).
   */
  rowCounts: RowCountsSchema.optional(),
})
export type ClientRestorePayload = z.infer<typeof ClientRestorePayload>

export const ClientRestoreResult = z.object({ rowCounts: RowCountsSchema })
export type ClientRestoreResult = z.infer<typeof ClientRestoreResult>

/** `image.load`: `docker load` a received image, checked first. */
export const ImageLoadPayload = z.strictObject({
  transferId: uuidSchema,
  sha256: sha256Schema,
  /** The image the archive must hold once loaded. */
  image: imageRefSchema,
})
export type ImageLoadPayload = z.infer<typeof ImageLoadPayload>

export const ImageLoadResult = z.object({ image: imageRefSchema })
export type ImageLoadResult = z.infer<typeof ImageLoadResult>

/** `client.forward`: the domain's site on this server proxies to another server (a moved client, while DNS follows). */
export const ClientForwardPayload = z.strictObject({
  slug: slugSchema,
  domain: domainSchema,
  /** The new server's address and sites port (its nginx answers for the domain). */
  targetHost: hostSchema,
  targetPort: portSchema,
  /** When the forward should be dropped (ms since the epoch); the agent removes it at or after that time. */
  until: z.int().min(0),
})
export type ClientForwardPayload = z.infer<typeof ClientForwardPayload>

export const ClientForwardResult = z.object({ site: absolutePathSchema })
export type ClientForwardResult = z.infer<typeof ClientForwardResult>

/** `transfer.discard`: removes a transfer's spool (a failed or abandoned move); idempotent. */
export const TransferDiscardPayload = z.strictObject({ transferId: uuidSchema })
export type TransferDiscardPayload = z.infer<typeof TransferDiscardPayload>
export const TransferDiscardResult = z.object({ removed: z.boolean() })
export type TransferDiscardResult = z.infer<typeof TransferDiscardResult>

/**
 * `client.restore_files`: unpack a received files archive into the client's data volumes on this server (a move's
 * or copy's staged client). The spool must hash to what the sender sent, and the archive pass the hostile-entry
 * checks with the sender's figures, before anything is written; the volumes are read back afterwards.
 */
export const ClientRestoreFilesPayload = z.strictObject({
  /** The client the volumes belong to (their label). */
  clientId: uuidSchema,
  /** Names the volumes (`alfa-<slug>.<key>`). */
  slug: slugSchema,
  /** The spooled transfer holding the archive. */
  transferId: uuidSchema,
  /** What the sender sent: the spool must hash to it before a byte is unpacked. */
  sha256: sha256Schema,
  /** The app profile's data paths on this server: the archive may hold only their keys. */
  dataPaths: AppProfile.shape.dataPaths.unwrap(),
  /** The sender's count of the archive: the archive must hold exactly this. */
  expected: FilesCount,
})
export type ClientRestoreFilesPayload = z.infer<typeof ClientRestoreFilesPayload>

export const ClientRestoreFilesResult = z.object({
  /** What the archive held, counted here while it was checked. */
  unpacked: FilesCount,
  /** Files of the archive found in the volumes afterwards with the same size and SHA-256, and their bytes. */
  readBack: z.object({ files: z.int().min(0), fileBytes: z.int().min(0) }),
  /** Files in the volumes that the archive does not hold (left as they were: the image's own, say). */
  extraFiles: z.int().min(0),
})
export type ClientRestoreFilesResult = z.infer<typeof ClientRestoreFilesResult>
