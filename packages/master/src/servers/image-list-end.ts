import type { ImageListResult } from '@alfa/protocol'
import type { HeldRecord } from '../agent-hub/held-queries.ts'
import type { Sql } from '../db/sql.ts'
import { onServerSelect, serverCatalogOf, type CatalogRow, type ServerCatalog } from '../images/image-catalog.ts'
import { recordImagesCtes, reportedImages } from '../images/image-record.ts'
import { RECORD_OPERATION_CTES, recordParams } from '../operations/operation-record.ts'

/**
 * The end of an image list that succeeded, in one statement (one transaction): its operation row with the outcome
 * and log lines, the reported images recorded (only what changed), and the catalog that decorates the answer read
 * back. The read sees the database as it was before the statement, which is the answer the separate read gave:
 * recording a list never changes the facts the catalog reads (commit, branch, build operation, clients using a ref),
 * and a ref it adds or removes is decorated with nothing either way.
 */
export async function recordImageList(
  sql: Sql,
  record: HeldRecord,
  serverId: string,
  images: ImageListResult['images'],
): Promise<ServerCatalog> {
  const rows = await sql.query<CatalogRow>(
    `WITH ${RECORD_OPERATION_CTES}, ${recordImagesCtes('$3', '$4', '$5')} ${onServerSelect('$3')}`,
    [...recordParams(record), serverId, reportedImages(images), new Date()],
    'image-list-end',
  )
  return serverCatalogOf(rows)
}
