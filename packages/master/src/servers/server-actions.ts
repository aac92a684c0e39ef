import { parseCommandResult, type ImageListResult } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { NotFound } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import { lockKeyOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import type { OperationService } from '../operations/operation-service.ts'

/**
 * Makes the server's recorded images exactly the reported ones (one row per tag), in one statement: it runs before
 * the images request is answered, so it is one round trip rather than a transaction of one upsert per tag.
 */
export async function recordImages(sql: Sql, serverId: string, images: ImageListResult['images']): Promise<void> {
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
  await sql.query(
    `WITH reported AS (
       SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(ref text, version text, channel text, "sizeBytes" bigint, "builtAt" timestamp(3))
     ), gone AS (
       DELETE FROM "Image" WHERE "serverId" = $1::uuid AND ref NOT IN (SELECT ref FROM reported)
     )
     INSERT INTO "Image" (id, "serverId", ref, version, channel, "sizeBytes", "builtAt", "createdAt")
     SELECT gen_random_uuid(), $1::uuid, ref, version, channel, "sizeBytes", "builtAt", $3 FROM reported
     ON CONFLICT ("serverId", ref) DO UPDATE
       SET "sizeBytes" = EXCLUDED."sizeBytes", version = EXCLUDED.version, channel = EXCLUDED.channel, "builtAt" = EXCLUDED."builtAt"`,
    [serverId, JSON.stringify([...byRef.values()]), new Date()],
    'images-record',
  )
}

/** Actions on a server that go through its agent, each an operation started by `begin`. */
export function createServerActions(deps: {
  prisma: PrismaClient
  hub: AgentHub
  begin: Begin
  operations: OperationService
}) {
  const { prisma, hub, operations } = deps

  async function server(id: string) {
    const s = await prisma.server.findUnique({ where: { id } })
    if (!s) throw new NotFound('server', id)
    return s
  }

  return {
    /**
     * Lists the server's images through its agent; waits up to `waitMs` so the usual answer is the list itself
     * (`images`), else the operation as it stands (`images` undefined, `failed` when the agent answered an error).
     */
    async images(serverId: string, requestedBy: string, waitMs: number) {
      // A connected agent proves its server exists; look the server up only to tell 404 from 503.
      if (!hub.isOnline(serverId)) await server(serverId)
      const { operation } = await deps.begin({
        kind: 'server.images',
        serverId,
        lock: lockKeyOf.server(serverId),
        requestedBy,
        command: { type: 'image.list', payload: {} },
      })
      const settled = await hub.waitFor(operation.id, waitMs)
      const listed = settled?.status === 'succeeded' ? parseCommandResult('image.list', settled.result) : undefined
      if (listed?.ok) return { operation, images: listed.result.images, failed: false }
      return { operation: await operations.get(operation.id), images: undefined, failed: settled !== undefined }
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
