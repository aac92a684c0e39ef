import type { ResourceObject } from '../http/jsonapi.ts'
import type { Client, Server } from '../generated/prisma/client.ts'

/** YYYY-MM-DD of a date-only column. */
export const isoDay = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null)

/** The direct link to the client's cloud, as the Mol admin links to it; a server's non-80 sites port is in it. */
export function clientUrl(client: Pick<Client, 'domain'>, server?: Pick<Server, 'tlsEnabled' | 'sitesPort'> | null) {
  if (server?.tlsEnabled) return `https://${client.domain}/`
  const port = server?.sitesPort && server.sitesPort !== 80 ? `:${server.sitesPort}` : ''
  return `http://${client.domain}${port}/`
}

/** A client row as a JSON:API resource; the owner's password never appears. */
export function clientResource(c: Client & { server?: Server | null }, meta?: Record<string, unknown>): ResourceObject {
  return {
    type: 'clients',
    id: c.id,
    attributes: {
      name: c.name,
      slug: c.slug,
      domain: c.domain,
      // A client deleted for good has no site, and its domain was renamed to free it (deleted-holders.ts).
      url: c.status === 'deleted' ? null : clientUrl(c, c.server),
      status: c.status,
      serverId: c.serverId,
      image: c.image,
      version: c.version,
      ownerLogin: c.ownerLogin,
      ownerEmail: c.ownerEmail,
      contactEmail: c.contactEmail,
      language: c.language,
      expireDate: isoDay(c.expireDate),
      maintenance: c.maintenance,
      demo: c.demo,
      turbostart: c.turbostart,
      tutorial: c.tutorial,
      memoryLimitMb: c.memoryLimitMb,
      cpuLimit: c.cpuLimit,
      available: c.available,
      availableCheckedAt: c.availableCheckedAt?.toISOString() ?? null,
      usersCount: c.usersCount,
      usersCountAt: c.usersCountAt?.toISOString() ?? null,
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
      deletedAt: c.deletedAt?.toISOString() ?? null,
    },
    relationships: { server: { data: { type: 'servers', id: c.serverId } } },
    links: { self: `/clients/${c.id}` },
    ...(meta ? { meta } : {}),
  }
}
