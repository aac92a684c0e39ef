import type { ImageListResult } from '@alfa/protocol'
import type { Sql } from '../db/sql.ts'

/** The reported images as one JSON document, one entry per tag (a ref is a tag on one server). */
export function reportedImages(images: ImageListResult['images']): string {
  const byRef = new Map(
    images.flatMap((img) =>
      img.tags.map(
        (ref) =>
          [
            ref,
            {
              ref,
              version: img.labels?.['alfa.version'] ?? null,
              channel: img.labels?.['alfa.channel'] ?? null,
              sizeBytes: img.sizeBytes,
              builtAt: new Date(img.createdAt).toISOString(),
            },
          ] as const,
      ),
    ),
  )
  return JSON.stringify([...byRef.values()])
}

/**
 * Common expressions that make the server's recorded images exactly the reported ones (`server`, `reported` from
 * reportedImages and `now` are parameter names such as $1): vanished refs deleted, new ones inserted, and only the
 * refs whose facts changed updated. An image list repeats what is recorded nearly every time, and rewriting
 * unchanged rows cost a new row version each per list.
 */
export const recordImagesCtes = (server: string, reported: string, now: string) => `reported AS (
    SELECT * FROM jsonb_to_recordset(${reported}::jsonb)
      AS r(ref text, version text, channel text, "sizeBytes" bigint, "builtAt" timestamp(3))
  ), gone AS (
    DELETE FROM "Image" WHERE "serverId" = ${server}::uuid AND ref NOT IN (SELECT ref FROM reported)
  ), changed AS (
    SELECT r.* FROM reported r
     WHERE NOT EXISTS (SELECT 1 FROM "Image" i WHERE i."serverId" = ${server}::uuid AND i.ref = r.ref
                          AND (i.version, i.channel, i."sizeBytes", i."builtAt")
                              IS NOT DISTINCT FROM (r.version, r.channel, r."sizeBytes", r."builtAt"))
  ), upserted AS (
    INSERT INTO "Image" (id, "serverId", ref, version, channel, "sizeBytes", "builtAt", "createdAt")
    SELECT gen_random_uuid(), ${server}::uuid, ref, version, channel, "sizeBytes", "builtAt", ${now} FROM changed
    ON CONFLICT ("serverId", ref) DO UPDATE
      SET "sizeBytes" = EXCLUDED."sizeBytes", version = EXCLUDED.version, channel = EXCLUDED.channel,
          "builtAt" = EXCLUDED."builtAt"
  )`

/**
 * Makes the server's recorded images exactly the reported ones (one row per tag), in one statement: it runs before
 * the images request is answered, so it is one round trip rather than a transaction of one upsert per tag.
 */
export async function recordImages(sql: Sql, serverId: string, images: ImageListResult['images']): Promise<void> {
  await sql.query(
    `WITH ${recordImagesCtes('$1', '$2', '$3')} SELECT 1`,
    [serverId, reportedImages(images), new Date()],
    'images-record',
  )
}
