import type { ImageListResult } from '@alfa/protocol'
import type { HeldRecord } from '../agent-hub/held-queries.ts'
import type { Sql } from '../db/sql.ts'

/** The end of an image list that succeeded: its held record, and the images its agent reported. */
export interface ImageListEnd {
  record: HeldRecord
  serverId: string
  images: ImageListResult['images']
}

/**
 * The ends of image lists, in one statement (one transaction), each as the single-server statements of
 * operation-record.ts and image-record.ts would write it: its operation row with the outcome and log lines, and the
 * reported images recorded (only what changed). Written again after a crash (image-list-records.ts), so a row that
 * exists is left as it is, and its lines with it. A ref recorded after the list was asked for (a build that ended
 * meanwhile) is not the list's to delete. $1: one JSON document per end, at most one with images per server.
 */
const RECORD_IMAGE_LISTS = `WITH ends AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, server uuid, "row" jsonb, lines jsonb, images jsonb)
  ), op AS (
    INSERT INTO "Operation" SELECT r.* FROM ends e, jsonb_populate_record(NULL::"Operation", e."row") r
    ON CONFLICT (id) DO NOTHING
    RETURNING id
  ), lines AS (
    INSERT INTO "OperationLog" ("operationId", seq, ts, stream, level, step, message, "agentSeq")
    SELECT op.id, l.seq, l.ts, coalesce(l.stream, 'info'), coalesce(l.level, 'info'), l.step, l.message, l."agentSeq"
      FROM op JOIN ends e ON e.id = op.id,
           jsonb_to_recordset(e.lines)
           AS l(seq int, ts timestamp(3), stream text, level text, step text, message text, "agentSeq" int)
  ), listed AS (
    SELECT server, ("row"->>'startedAt')::timestamp(3) AS asked FROM ends WHERE images IS NOT NULL
  ), reported AS (
    SELECT e.server, r.* FROM ends e, jsonb_to_recordset(e.images)
      AS r(ref text, version text, channel text, "sizeBytes" bigint, "builtAt" timestamp(3))
     WHERE e.images IS NOT NULL
  ), gone AS (
    DELETE FROM "Image" i USING listed l
     WHERE i."serverId" = l.server AND i."createdAt" < l.asked
       AND NOT EXISTS (SELECT 1 FROM reported r WHERE r.server = l.server AND r.ref = i.ref)
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
  SELECT count(*)::int AS written FROM op`

/**
 * One end as the statement's $1 takes it, built as text (the images come as a JSON document already), in two parts:
 * `head` (id, server, row, lines) and `images`, so a superseded end is written with `null` images instead.
 */
export interface EndDoc {
  server: string
  head: string
  images: string
}

export function imageListEndDoc(end: {
  id: string
  serverId: string
  row: unknown
  lines: unknown
  images: string
}): EndDoc {
  return {
    server: end.serverId,
    head:
      `{"id":${JSON.stringify(end.id)},"server":${JSON.stringify(end.serverId)},` +
      `"row":${JSON.stringify(end.row)},"lines":${JSON.stringify(end.lines)},`,
    images: end.images,
  }
}

/** The whole document of an end, as the journal keeps it and the statement reads it. */
export const endDocText = (doc: EndDoc, withImages = true) => `${doc.head}"images":${withImages ? doc.images : 'null'}}`

/** An end read back from the journal. */
export function parseEndDoc(text: string): EndDoc {
  const e = JSON.parse(text) as { id: string; server: string; row: unknown; lines: unknown; images: unknown }
  return imageListEndDoc({ ...e, serverId: e.server, images: JSON.stringify(e.images) })
}

/** Writes ends (endDocText) in one statement; returns how many rows were new. */
export async function recordImageLists(sql: Sql, docs: readonly string[]): Promise<number> {
  const rows = await sql.query<{ written: number }>(
    RECORD_IMAGE_LISTS,
    [`[${docs.join(',')}]`, new Date()],
    'image-lists-end',
  )
  return rows[0]?.written ?? 0
}
