import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import { Conflict, Invalid, NotFound } from '../errors.ts'
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts'
import { lockKeyOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { ProfileResolver } from './app-profiles.ts'
import type { DefaultImage } from './default-image.ts'
import { createClientCreator, pointer, toDate } from './client-create.ts'
import type { ClientWrite } from './client-schemas.ts'

export { CREATE_STEPS } from '../operations/operation-kinds.ts'
/** Lines one create_log answer carries at most; a poller continues with since=. */
const CREATE_LOG_MAX_LINES = 10_000
const CREATE_ONLY = ['slug', 'server', 'image', 'ownerPassword'] as const

export interface ClientServiceDeps {
  prisma: PrismaClient
  hub: AgentHub
  operations: OperationService
  begin: Begin
  secretBox: SecretBox
  profiles: ProfileResolver
  /** The image of a create that names none (clients/default-image.ts). */
  defaultImage: DefaultImage
}

/** Clients: one Mol instance each. Every change on a server goes through the hub as an operation. */
export function createClientService(deps: ClientServiceDeps) {
  const { prisma, operations } = deps
  const createClient = createClientCreator(deps)

  async function get(id: string) {
    const c = await prisma.client.findUnique({ where: { id }, include: { server: true } })
    if (!c) throw new NotFound('client', id)
    return c
  }

  return {
    get,

    async create(attrs: ClientWrite, requestedBy: string) {
      const { clientId, operation } = await createClient(attrs, requestedBy)
      return { client: await get(clientId), operation }
    },

    async update(id: string, attrs: ClientWrite, requestedBy: string) {
      const fixed = CREATE_ONLY.filter((k) => attrs[k] !== undefined)
      if (fixed.length) {
        throw new Invalid(
          fixed.map((k) =>
            k === 'ownerPassword'
              ? pointer(
                  k,
                  'the password is not changed by an update; use POST /clients/{id}/owner_password',
                  'owner_password',
                )
              : pointer(
                  k,
                  `${k} cannot be changed by an update (${k === 'server' ? 'use move_to' : k === 'image' ? 'use switch' : "it names the client's resources"})`,
                  'immutable',
                ),
          ),
        )
      }
      const current = await get(id)
      if (current.status === 'deleted') throw new NotFound('client', id)
      // A new domain is not written here: the site must move first (an operation, see client-actions changeDomain).
      const domainChange = attrs.domain !== undefined && attrs.domain !== current.domain ? attrs.domain : undefined
      const {
        expireDate,
        server: _server,
        slug: _slug,
        image: _image,
        ownerPassword: _password,
        domain: _domain,
        ...rest
      } = attrs
      const data = { ...rest, ...(expireDate !== undefined ? { expireDate: toDate(expireDate) } : {}) }
      try {
        await prisma.$transaction(async (tx) => {
          await tx.client.update({ where: { id }, data })
          if (data.expireDate !== undefined && data.expireDate?.getTime() !== current.expireDate?.getTime()) {
            await tx.expireDateHistory.create({
              data: {
                clientId: id,
                oldDate: current.expireDate,
                newDate: data.expireDate,
                changedBy: requestedBy,
                reason: 'update',
              },
            })
          }
        })
      } catch (err) {
        if (isUniqueViolation(err)) throw new Conflict('domain is taken', 'domain_taken')
        throw err
      }
      // What the app (cloud_settings) or nginx (the expiry page) shows: applied by an operation (client-actions).
      const settingsChange =
        (attrs.turbostart !== undefined && attrs.turbostart !== current.turbostart) ||
        (attrs.tutorial !== undefined && attrs.tutorial !== current.tutorial) ||
        (data.expireDate !== undefined && data.expireDate?.getTime() !== current.expireDate?.getTime())
      const limitsChange =
        (attrs.memoryLimitMb !== undefined && attrs.memoryLimitMb !== current.memoryLimitMb) ||
        (attrs.cpuLimit !== undefined && attrs.cpuLimit !== current.cpuLimit)
      return { client: await get(id), domainChange, settingsChange, limitsChange }
    },

    async list(opts: {
      filter: { serverId?: string; status?: string; q?: string }
      page: { number: number; size: number }
      sort: { field: string; desc: boolean }[]
    }) {
      const { serverId, status, q } = opts.filter
      const where: Prisma.ClientWhereInput = {
        ...(serverId ? { serverId } : {}),
        ...(status === 'all' ? {} : status ? { status: status as 'active' } : { status: { not: 'deleted' } }),
        ...(q
          ? {
              OR: ['name', 'slug', 'domain', 'ownerEmail', 'contactEmail'].map((f) => ({
                [f]: { contains: q, mode: 'insensitive' as const },
              })),
            }
          : {}),
      }
      const [rows, total] = await prisma.$transaction([
        prisma.client.findMany({
          where,
          include: { server: true },
          orderBy: [...opts.sort.map((s) => ({ [s.field]: s.desc ? 'desc' : 'asc' })), { id: 'asc' }],
          skip: (opts.page.number - 1) * opts.page.size,
          take: opts.page.size,
        }),
        prisma.client.count({ where }),
      ])
      return { rows, total }
    },

    /** The client's latest operations, newest first (GET /clients/{id}). */
    recentOperations(clientId: string) {
      return prisma.operation.findMany({ where: { clientId }, orderBy: { createdAt: 'desc' }, take: 10 })
    },

    /** The latest create operation of the client with its log after `since`. */
    async createLog(id: string, since: number) {
      await get(id)
      const op = await prisma.operation.findFirst({
        where: { clientId: id, kind: 'client.create' },
        orderBy: { createdAt: 'desc' },
      })
      if (!op) throw new NotFound('create log of client', id)
      return operations.get(op.id, { since, limit: CREATE_LOG_MAX_LINES })
    },

    /** Removes the client from its server (final dump kept there). A deleted client answers with nothing to do. */
    async remove(id: string, requestedBy: string) {
      const client = await get(id)
      if (client.status === 'deleted') return { client, operation: undefined }
      const { operation } = await deps.begin({
        kind: 'client.delete',
        serverId: client.serverId,
        clientId: id,
        lock: lockKeyOf.client(client.slug),
        requestedBy,
        change: async (tx) => {
          const { count } = await tx.client.updateMany({
            where: { id, status: { not: 'deleted' } },
            data: { status: 'deleting' },
          })
          if (count === 0) throw new Conflict('the client was deleted meanwhile', 'client_deleted')
        },
        command: {
          type: 'client.delete',
          payload: { clientId: id, slug: client.slug, dbEngine: client.server.dbEngine },
        },
      })
      return { client: await get(id), operation }
    },
  }
}

export type ClientService = ReturnType<typeof createClientService>
