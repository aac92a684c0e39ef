import type { ImageListResult } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { OperationCompletions } from '../agent-hub/operation-completions.ts'
import { Conflict, NotFound } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import type { OperationService } from '../operations/operation-service.ts'

/** Deadlines of the server-level commands: listing is quick; a reboot command only has to start the reboot. */
const IMAGE_LIST_DEADLINE_MS = 60_000
const REBOOT_DEADLINE_MS = 60_000

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

/** Actions on a server that go through its agent, each as an operation. */
export function createServerActions(deps: {
  prisma: PrismaClient
  sql: Sql
  hub: AgentHub
  operations: OperationService
  completions: OperationCompletions
}) {
  const { prisma, hub, operations } = deps

  // Images the agent reports are recorded, so the client forms can offer them without asking the agent each time.
  deps.completions.register('server.images', async (op, outcome) => {
    if (!outcome.ok || !op.serverId) return
    await recordImages(deps.sql, op.serverId, (outcome.data as ImageListResult).images)
  })

  async function server(id: string) {
    const s = await prisma.server.findUnique({ where: { id } })
    if (!s) throw new NotFound('server', id)
    return s
  }

  return {
    /** Lists the server's images through its agent; waits up to `waitMs` so the usual answer is the list itself. */
    async images(serverId: string, requestedBy: string, waitMs: number) {
      // A connected agent proves its server exists; look the server up only to tell 404 from 503.
      if (!hub.isOnline(serverId)) await server(serverId)
      const { operation, done } = await hub.dispatchNew(
        { type: 'server.images', serverId, requestedBy },
        { type: 'image.list', payload: {} },
        IMAGE_LIST_DEADLINE_MS,
      )
      const outcome = await Promise.race([
        done,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs).unref()),
      ])
      // On success the answer is the list itself; the stored operation is read back only to show how it stands.
      return { operation: outcome?.ok ? operation : await operations.get(operation.id), outcome }
    },

    /** Reboots the server (one at a time); answers with the operation at once. */
    async reboot(serverId: string, requestedBy: string) {
      await server(serverId)
      hub.assertOnline(serverId, 'server.reboot')
      const running = await prisma.operation.findFirst({
        where: { serverId, type: 'server.reboot', status: { in: ['queued', 'running'] } },
      })
      if (running)
        throw new Conflict('a reboot of this server is already running', 'operation_running', {
          operationId: running.id,
        })
      const { operation } = await hub.dispatchNew(
        { type: 'server.reboot', serverId, requestedBy },
        { type: 'server.reboot', payload: {} },
        REBOOT_DEADLINE_MS,
      )
      return operation
    },
  }
}

export type ServerActions = ReturnType<typeof createServerActions>
