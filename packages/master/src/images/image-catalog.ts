import type { Image, PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import type { Page } from '../http/jsonapi.ts'

/** The clients on a server using each image ref (ids in slug order, so pages read the same each time). */
export async function clientsByImage(prisma: PrismaClient, serverIds: string[]): Promise<Map<string, string[]>> {
  const clients = await prisma.client.findMany({
    where: { serverId: { in: serverIds }, deletedAt: null, status: { not: 'deleted' }, image: { not: null } },
    select: { id: true, serverId: true, image: true },
    orderBy: { slug: 'asc' },
  })
  const byImage = new Map<string, string[]>()
  for (const c of clients) {
    const key = usageKey(c.serverId, c.image ?? '')
    byImage.set(key, [...(byImage.get(key) ?? []), c.id])
  }
  return byImage
}

/** The key of clientsByImage: an image is per server. */
export const usageKey = (serverId: string, ref: string) => `${serverId} ${ref}`

/** An image record with the clients using it, as the API shows it. */
export function imageResource(image: Image, clientIds: string[]) {
  return {
    type: 'images',
    id: image.id,
    attributes: {
      ref: image.ref,
      server: image.serverId,
      version: image.version,
      channel: image.channel,
      commit: image.gitCommit,
      branch: image.branch,
      sizeBytes: image.sizeBytes === null ? null : Number(image.sizeBytes),
      builtAt: image.builtAt?.toISOString() ?? null,
      buildOperation: image.buildOperationId,
      clientsCount: clientIds.length,
      clientIds,
    },
  }
}

/** One row of catalogSelect: an image record or a client using a ref. */
export interface CatalogRow {
  what: 'image' | 'client'
  ref: string
  gitCommit: string | null
  branch: string | null
  buildOperationId: string | null
  clientId: string | null
}

/** What the master recorded of each image on a server, and the clients there using each ref. */
export interface ServerCatalog {
  record: Map<string, Pick<Image, 'gitCommit' | 'branch' | 'buildOperationId'>>
  clientsOf(ref: string): string[]
}

/** The statement reading one server's catalog ($1), or every server's (without it), each row naming its server. */
const catalogSelect = (oneServer: boolean) =>
  `SELECT "serverId" AS server, 'image' AS what, ref, "gitCommit", branch, "buildOperationId", NULL::uuid AS "clientId",
          NULL AS slug
     FROM "Image" ${oneServer ? 'WHERE "serverId" = $1::uuid' : ''}
   UNION ALL
   SELECT "serverId", 'client', image, NULL, NULL, NULL, id, slug
     FROM "Client"
    WHERE ${oneServer ? '"serverId" = $1::uuid AND' : ''} "deletedAt" IS NULL AND status <> 'deleted'
      AND image IS NOT NULL
    ORDER BY server, what, slug`

export function serverCatalogOf(rows: CatalogRow[]): ServerCatalog {
  const record: ServerCatalog['record'] = new Map()
  const users = new Map<string, string[]>()
  for (const r of rows) {
    if (r.what === 'image') record.set(r.ref, r)
    else users.set(r.ref, [...(users.get(r.ref) ?? []), r.clientId!])
  }
  return { record, clientsOf: (ref: string) => users.get(ref) ?? [] }
}

/** Image records across servers (GET /images): filtered by server, channel and version, newest build first. */
export function createImageCatalog(deps: {
  prisma: PrismaClient
  sql: Sql
  /** Image lists written behind their answer (servers/image-list-records.ts): GET /images shows what they reported. */
  behind?: { settle(): Promise<void> }
}) {
  const { prisma } = deps
  return {
    async list(q: { server?: string; channel?: string; version?: string; page: Page }) {
      await deps.behind?.settle()
      const where = {
        ...(q.server ? { serverId: q.server } : {}),
        ...(q.channel ? { channel: q.channel } : {}),
        ...(q.version ? { version: q.version } : {}),
      }
      const [rows, total] = await Promise.all([
        prisma.image.findMany({
          where,
          orderBy: [{ builtAt: { sort: 'desc', nulls: 'last' } }, { ref: 'asc' }, { id: 'asc' }],
          skip: (q.page.number - 1) * q.page.size,
          take: q.page.size,
        }),
        prisma.image.count({ where }),
      ])
      const usage = await clientsByImage(prisma, [...new Set(rows.map((r) => r.serverId))])
      return { rows: rows.map((r) => imageResource(r, usage.get(usageKey(r.serverId, r.ref)) ?? [])), total }
    },

    /**
     * Recorded build facts and users of the images on one server, by ref (GET /servers/{id}/images). One statement
     * straight through the driver: it answers every image list, the hot path of a command's round trip.
     */
    async onServer(serverId: string): Promise<ServerCatalog> {
      return serverCatalogOf(
        await deps.sql.query<CatalogRow>(catalogSelect(true), [serverId], 'image-catalog-on-server'),
      )
    },

    /** Every server's catalog, in one statement; a server with neither images nor clients using one is absent. */
    async everyServer(): Promise<Map<string, ServerCatalog>> {
      const rows = await deps.sql.query<CatalogRow & { server: string }>(catalogSelect(false), [], 'image-catalogs')
      const byServer = new Map<string, CatalogRow[]>()
      for (const r of rows) {
        const list = byServer.get(r.server)
        if (list) list.push(r)
        else byServer.set(r.server, [r])
      }
      return new Map([...byServer].map(([server, list]) => [server, serverCatalogOf(list)]))
    },
  }
}

export type ImageCatalog = ReturnType<typeof createImageCatalog>
