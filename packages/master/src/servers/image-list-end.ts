import type { ImageListResult } from '@alfa/protocol'
import type { HeldRecord } from '../agent-hub/held-queries.ts'
import type { Sql } from '../db/sql.ts'
import { serverCatalogOf, type CatalogRow, type ServerCatalog } from '../images/image-catalog.ts'
import { reportedImages } from '../images/image-record.ts'

/** The end of an image list that succeeded: its held record, and the images its agent reported. */
export interface ImageListEnd {
  record: HeldRecord
  serverId: string
  images: ImageListResult['images']
}

/**
 * The ends of image lists of distinct servers, in one statement (one transaction), each as the single-server
 * statements of operation-record.ts, image-record.ts and image-catalog.ts would write and read it: its operation row
 * with the outcome and log lines, the reported images recorded (only what changed), and the catalog that decorates
 * the answer read back. The read sees the database as it was before the statement, which is the answer a separate
 * read gave: recording a list never changes the facts the catalog reads (commit, branch, build operation, clients
 * using a ref), and a ref it adds or removes is decorated with nothing either way. $1: one JSON document per end,
 * $2: now. Two ends of one server would touch the same image rows twice: the caller never groups them.
 */
const RECORD_IMAGE_LISTS = `WITH ends AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, server uuid, "row" jsonb, lines jsonb, images jsonb)
  ), op AS (
    INSERT INTO "Operation" SELECT r.* FROM ends e, jsonb_populate_record(NULL::"Operation", e."row") r
    RETURNING id
  ), lines AS (
    INSERT INTO "OperationLog" ("operationId", seq, ts, stream, level, step, message, "agentSeq")
    SELECT op.id, l.seq, l.ts, coalesce(l.stream, 'info'), coalesce(l.level, 'info'), l.step, l.message, l."agentSeq"
      FROM op JOIN ends e ON e.id = op.id,
           jsonb_to_recordset(e.lines)
           AS l(seq int, ts timestamp(3), stream text, level text, step text, message text, "agentSeq" int)
  ), reported AS (
    SELECT e.server, r.* FROM ends e, jsonb_to_recordset(e.images)
      AS r(ref text, version text, channel text, "sizeBytes" bigint, "builtAt" timestamp(3))
  ), gone AS (
    DELETE FROM "Image" i USING ends e
     WHERE i."serverId" = e.server AND NOT EXISTS (SELECT 1 FROM reported r WHERE r.server = e.server AND r.ref = i.ref)
  ), changed AS (
    SELECT r.* FROM reported r
     WHERE NOT EXISTS (SELECT 1 FROM "Image" i WHERE i."serverId" = r.server AND i.ref = r.ref
                          AND (i.version, i.channel, i."sizeBytes", i."builtAt")
                              IS NOT DISTINCT FROM (r.version, r.channel, r."sizeBytes", r."builtAt"))
  ), upserted AS (
    INSERT INTO "Image" (id, "serverId", ref, version, channel, "sizeBytes", "builtAt", "createdAt")
    SELECT gen_random_uuid(), server, ref, version, channel, "sizeBytes", "builtAt", $2 FROM changed
    ON CONFLICT ("serverId", ref) DO UPDATE
      SET "sizeBytes" = EXCLUDED."sizeBytes", version = EXCLUDED.version, channel = EXCLUDED.channel,
          "builtAt" = EXCLUDED."builtAt"
  )
  SELECT e.server, 'image' AS what, i.ref, i."gitCommit", i.branch, i."buildOperationId", NULL::uuid AS "clientId",
         NULL AS slug
    FROM ends e JOIN "Image" i ON i."serverId" = e.server
  UNION ALL
  SELECT e.server, 'client', c.image, NULL, NULL, NULL, c.id, c.slug
    FROM ends e JOIN "Client" c ON c."serverId" = e.server
   WHERE c."deletedAt" IS NULL AND c.status <> 'deleted' AND c.image IS NOT NULL
  ORDER BY server, what, slug`

/** Writes the ends of image lists of distinct servers in one statement; returns each one's catalog, in order. */
export async function recordImageLists(sql: Sql, ends: readonly ImageListEnd[]): Promise<ServerCatalog[]> {
  // Built as text: the images already come as a JSON document (reportedImages).
  const docs = ends.map(
    (end) =>
      `{"id":${JSON.stringify(end.record.id)},"server":${JSON.stringify(end.serverId)},` +
      `"row":${JSON.stringify(end.record.row)},"lines":${JSON.stringify(end.record.lines)},` +
      `"images":${reportedImages(end.images)}}`,
  )
  const rows = await sql.query<CatalogRow & { server: string }>(
    RECORD_IMAGE_LISTS,
    [`[${docs.join(',')}]`, new Date()],
    'image-lists-end',
  )
  return ends.map((end) => serverCatalogOf(rows.filter((r) => r.server === end.serverId)))
}
