import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { Sql } from '../db/sql.ts'
import { Conflict, Invalid } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { recordImages } from '../images/image-record.ts'

/** The channel of production builds (the app's `master` branch); `dev` builds are never picked by default. */
export const PRODUCTION_CHANNEL = 'master'
const IMAGE_LIST_DEADLINE_MS = 30_000

/** Picks the image of a create that names none, for the server the client was placed on. */
export type DefaultImage = (serverId: string) => Promise<string>

/**
 * The newest production image (channel `master`, highest version) on the server. When the master has recorded no
 * image of that server, it asks the agent (image.list) and records the answer first. 422 on `image` when the server
 * has none: the customer's fields alone cannot be served there.
 */
export function createDefaultImage(deps: {
  prisma: PrismaClient
  sql: Sql
  hub: Pick<AgentHub, 'request'>
}): DefaultImage {
  const production = (serverId: string) =>
    deps.prisma.image.findMany({
      where: { serverId, channel: PRODUCTION_CHANNEL },
      select: { ref: true, version: true },
    })

  return async (serverId) => {
    let images = await production(serverId)
    if (images.length === 0 && (await deps.prisma.image.count({ where: { serverId } })) === 0) {
      // The hub checks the answer against image.list's result schema before it resolves.
      const outcome = await deps.hub.request(serverId, 'image.list', {}, IMAGE_LIST_DEADLINE_MS)
      if (!outcome.ok)
        throw new Conflict(
          `cannot list the images of server ${serverId}: ${outcome.error.message}`,
          'image_list_failed',
        )
      await recordImages(deps.sql, serverId, outcome.data.images)
      images = await production(serverId)
    }
    const newest = newestImage(images)
    if (!newest)
      throw new Invalid([
        {
          pointer: '/data/attributes/image',
          detail: `the server has no production image (label alfa.channel=${PRODUCTION_CHANNEL}): name an image`,
          code: 'no_default_image',
        },
      ])
    return newest
  }
}

/** The ref with the highest version (its label, else its tag); numeric parts compare as numbers (1.10 > 1.9). */
export function newestImage(images: readonly { ref: string; version: string | null }[]): string | undefined {
  const versionOf = (i: { ref: string; version: string | null }) => i.version ?? i.ref.split(':').at(-1) ?? ''
  return [...images].sort((a, b) => compareVersions(versionOf(b), versionOf(a)) || a.ref.localeCompare(b.ref))[0]?.ref
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/)
  const pb = b.split(/[.+-]/)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? ''
    const y = pb[i] ?? ''
    const nx = /^\d+$/.test(x) ? Number(x) : NaN
    const ny = /^\d+$/.test(y) ? Number(y) : NaN
    const order = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x.localeCompare(y)
    if (order !== 0) return Math.sign(order)
  }
  return 0
}
