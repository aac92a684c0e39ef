import { parseCommandResult } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { NotFound } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import { lockKeyOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import type { OperationService } from '../operations/operation-service.ts'
import { recordOperation } from '../operations/operation-record.ts'
import type { CatalogCache } from '../images/catalog-cache.ts'
import type { ImageListRecords } from './image-list-records.ts'

/** Actions on a server that go through its agent, each an operation started by `begin`. */
export function createServerActions(deps: {
  prisma: PrismaClient
  hub: AgentHub
  sql: Sql
  begin: Begin
  operations: OperationService
  /** How long an image list waits for the agent before the answer is the operation as it stands. */
  imagesWaitMs: number
  /** Where a list that succeeded is recorded, behind its answer. */
  records: ImageListRecords
  /** The catalog that decorates a list, kept coherent by the database's triggers. */
  catalog: CatalogCache
}) {
  const { prisma, hub, operations } = deps

  async function server(id: string) {
    const s = await prisma.server.findUnique({ where: { id } })
    if (!s) throw new NotFound('server', id)
    return s
  }

  return {
    /**
     * Lists the server's images through its agent; waits up to `imagesWaitMs` so the usual answer is the list itself
     * (`images`, with the `catalog` that decorates it), else the operation as it stands (`images` undefined, `failed`
     * when the agent answered an error). A read-only query: its row is written once, when it ends. A list that
     * succeeded is journaled and written behind its answer, with the images it reported (image-list-records.ts), and
     * decorated from the catalog kept in memory (catalog-cache.ts): its answer waits for no database round trip. One
     * that failed is written before its answer; one whose wait gives up is written as it stands, and then goes on as
     * any other operation (a late result, the deadline sweep or a lost agent ends it).
     */
    async images(serverId: string, requestedBy: string) {
      // A connected agent proves its server exists; look the server up only to tell 404 from 503.
      if (!hub.isOnline(serverId)) await server(serverId)
      const { operation, held } = await deps.begin({
        kind: 'server.images',
        serverId,
        lock: lockKeyOf.server(serverId),
        requestedBy,
        command: { type: 'image.list', payload: {} },
      })
      if (!held) throw new Error('server.images is recorded when it ends (recordOnEnd)')
      let ended = await held.wait(deps.imagesWaitMs)
      if (!ended && (await held.record((r) => recordOperation(deps.sql, r).then(() => undefined))))
        return { operation: await operations.get(operation.id), images: undefined, failed: false }
      ended ??= await held.wait(0) // it ended just as the wait gave up
      const settled = ended?.settled
      const listed = settled?.status === 'succeeded' ? parseCommandResult('image.list', settled.result) : undefined
      if (ended && listed?.ok) {
        deps.records.add({ record: ended, serverId, images: listed.result.images })
        return { operation, images: listed.result.images, catalog: await deps.catalog.get(serverId), failed: false }
      }
      const row = ended ? await recordOperation(deps.sql, ended) : await operations.get(operation.id)
      return { operation: row, images: undefined, failed: true }
    },

    /** Reboots the server (one at a time); answers with the operation at once. */
    async reboot(serverId: string, requestedBy: string) {
      await server(serverId)
      const { operation } = await deps.begin({
        kind: 'server.reboot',
        serverId,
        lock: lockKeyOf.server(serverId),
        requestedBy,
        command: { type: 'server.reboot', payload: {} },
      })
      return operation
    },
  }
}

export type ServerActions = ReturnType<typeof createServerActions>
