import { optionalDay } from '../calendar-day.ts'
import { passwordWeakness } from '../auth/password-policy.ts'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import { Conflict, Invalid, type FieldIssue } from '../errors.ts'
import type { Prisma, PrismaClient, Server } from '../generated/prisma/client.ts'
import { lockKeyOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { ProfileResolver } from './app-profiles.ts'
import type { ClientWrite } from './client-schemas.ts'
import type { DefaultImage } from './default-image.ts'
import { limitsOf } from './command-fields.ts'
import { releaseDeletedHolders } from './deleted-holders.ts'
import { isoDay } from './client-serializer.ts'

const REQUIRED_ON_CREATE = ['name', 'slug', 'ownerLogin', 'ownerEmail', 'ownerPassword'] as const

export const pointer = (field: string, detail: string, code = 'invalid_field'): FieldIssue => ({
  pointer: `/data/attributes/${field}`,
  detail,
  code,
})
export const toDate = optionalDay

/**
 * POST /clients: places the client, then one `begin` under the slug's lock writes (or retries on a failed create's
 * row) the client and its create operation. A slug whose delete failed is refused, naming the leftover client: its
 * container and database may still be there, and a new customer must never inherit them.
 */
export function createClientCreator(deps: {
  prisma: PrismaClient
  hub: AgentHub
  begin: Begin
  secretBox: SecretBox
  profiles: ProfileResolver
  defaultImage: DefaultImage
}) {
  const { prisma, hub } = deps

  /** The requested server (active, with room) or the least loaded active online one. */
  async function placeOn(serverId: string | undefined): Promise<Server> {
    const live = { clients: { where: { status: { not: 'deleted' as const } } } }
    if (serverId) {
      const s = await prisma.server.findUnique({ where: { id: serverId }, include: { _count: { select: live } } })
      if (!s) throw new Invalid([pointer('server', 'no such server')])
      if (!s.active) throw new Invalid([pointer('server', 'the server is not active')])
      if (s._count.clients >= s.maxClients)
        throw new Invalid([pointer('server', `the server is full (${s.maxClients} clients)`, 'server_full')])
      return s
    }
    const candidates = await prisma.server.findMany({
      where: { active: true, role: 'production' },
      include: { _count: { select: live } },
    })
    const best = candidates
      .filter((s) => s._count.clients < s.maxClients && hub.isOnline(s.id))
      .sort((a, b) => a._count.clients / Math.max(1, a.maxClients) - b._count.clients / Math.max(1, b.maxClients))[0]
    if (!best) throw new Conflict('no active online server has room for a new client', 'no_capacity')
    return best
  }

  return async function createClient(attrs: ClientWrite, requestedBy: string) {
    const missing = REQUIRED_ON_CREATE.filter((k) => attrs[k] === undefined)
    if (missing.length) throw new Invalid(missing.map((k) => pointer(k, `${k} is required`, 'required')))
    const weakness = passwordWeakness(attrs.ownerPassword!, attrs.ownerLogin)
    if (weakness) throw new Invalid([pointer('ownerPassword', `password ${weakness}`, 'weak_password')])
    const server = await placeOn(attrs.server)
    attrs = { ...attrs, image: attrs.image ?? (await deps.defaultImage(server.id)) }
    const domain = attrs.domain ?? `${attrs.slug}.${server.baseDomain}`
    if (domain.length > 253)
      throw new Invalid([pointer('domain', 'the default domain would be longer than 253 characters')])
    const profile = deps.profiles(attrs.image!)
    const data = {
      name: attrs.name!,
      slug: attrs.slug!,
      domain,
      serverId: server.id,
      status: 'creating' as const,
      image: attrs.image!,
      ownerLogin: attrs.ownerLogin!,
      ownerEmail: attrs.ownerEmail!,
      ownerPasswordEnc: deps.secretBox.seal(attrs.ownerPassword!),
      contactEmail: attrs.contactEmail ?? null,
      language: attrs.language ?? 'ru',
      expireDate: toDate(attrs.expireDate) ?? null,
      turbostart: attrs.turbostart ?? false,
      tutorial: attrs.tutorial ?? true,
      memoryLimitMb: attrs.memoryLimitMb ?? null,
      cpuLimit: attrs.cpuLimit ?? null,
    }

    async function writeClient(tx: Prisma.TransactionClient) {
      await releaseDeletedHolders(tx, data.slug, domain)
      // A failed create leaves its row: repeating the POST with the same slug tries again on it.
      const previous = await tx.client.findUnique({ where: { slug: data.slug } })
      if (previous && previous.status !== 'failed')
        throw new Conflict(`slug ${data.slug} is taken`, 'slug_taken', { clientId: previous.id })
      if (previous && (await tx.operation.count({ where: { clientId: previous.id, kind: 'client.delete' } })))
        throw new Conflict(
          `slug ${data.slug} is held by client ${previous.id}, whose delete failed: delete it for good first`,
          'slug_leftover',
          { clientId: previous.id },
        )
      const taken = await tx.client.findUnique({ where: { domain } })
      if (taken && taken.id !== previous?.id)
        throw new Conflict(`domain ${domain} is taken`, 'domain_taken', { clientId: taken.id })
      const row = previous
        ? await tx.client.update({ where: { id: previous.id }, data })
        : await tx.client.create({ data })
      if (data.expireDate?.getTime() !== previous?.expireDate?.getTime()) {
        await tx.expireDateHistory.create({
          data: {
            clientId: row.id,
            oldDate: previous?.expireDate ?? null,
            newDate: data.expireDate,
            changedBy: requestedBy,
            reason: 'created',
          },
        })
      }
      return row
    }

    const { operation, changed: client } = await deps
      .begin({
        kind: 'client.create',
        serverId: server.id,
        lock: lockKeyOf.client(data.slug),
        requestedBy,
        change: writeClient,
        clientOf: (row) => row.id,
        command: (row) => ({
          type: 'client.create',
          payload: {
            clientId: row.id,
            slug: row.slug,
            domain: row.domain,
            image: data.image,
            dbEngine: server.dbEngine,
            env: {},
            ownerLogin: row.ownerLogin,
            ownerPassword: attrs.ownerPassword!,
            tls: server.tlsEnabled,
            ...limitsOf(row),
            settings: {
              maintenance: row.maintenance,
              expireDate: isoDay(row.expireDate),
              turbostart: row.turbostart,
              tutorial: row.tutorial,
              version: row.version,
            },
            profile,
          },
        }),
      })
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw new Conflict('slug or domain is taken', 'slug_taken')
        throw err
      })
    return { clientId: client.id, operation }
  }
}
