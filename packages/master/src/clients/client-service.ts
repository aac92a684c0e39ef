import type { ClientCreatePayload } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { OperationCompletions } from '../agent-hub/operation-completions.ts'
import { passwordWeakness } from '../auth/password-policy.ts'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import { Conflict, Invalid, NotFound, type FieldIssue } from '../errors.ts'
import type { Prisma, PrismaClient, Server } from '../generated/prisma/client.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { ProfileResolver } from './app-profiles.ts'
import type { ClientWrite } from './client-schemas.ts'
import type { DefaultImage } from './default-image.ts'
import { isoDay } from './client-serializer.ts'
import { createdVersion } from './default-image.ts'

export const CREATE_STEPS = ['database', 'container', 'nginx', 'tls', 'settings', 'migrate', 'owner', 'health']
const CREATE_DEADLINE_MS = 15 * 60_000
const DELETE_DEADLINE_MS = 15 * 60_000
/** Lines one create_log answer carries at most; a poller continues with since=. */
const CREATE_LOG_MAX_LINES = 10_000
const REQUIRED_ON_CREATE = ['name', 'slug', 'ownerLogin', 'ownerEmail', 'ownerPassword'] as const
const CREATE_ONLY = ['slug', 'server', 'image', 'ownerPassword'] as const

export interface ClientServiceDeps {
  prisma: PrismaClient
  hub: AgentHub
  operations: OperationService
  completions: OperationCompletions
  secretBox: SecretBox
  profiles: ProfileResolver
  clock: Clock
  /** The image of a create that names none (clients/default-image.ts). */
  defaultImage: DefaultImage
  /** Refreshes availability and users count right after a create. */
  monitor?: { refresh(clientId: string): Promise<void> }
}

const pointer = (field: string, detail: string, code = 'invalid_field'): FieldIssue => ({
  pointer: `/data/attributes/${field}`,
  detail,
  code,
})
const toDate = (day: string | null | undefined) =>
  day ? new Date(`${day}T00:00:00Z`) : day === null ? null : undefined

/** Clients: one Mol instance each. Every change on a server goes through the hub as an operation. */
export function createClientService(deps: ClientServiceDeps) {
  const { prisma, hub, operations } = deps

  deps.completions.register('client.create', async (op, outcome) => {
    if (!op.clientId) return
    const now = deps.clock.now()
    if (outcome.ok) {
      const client = await prisma.client.findUnique({ where: { id: op.clientId } })
      // The version shown is the image's alfa.version label when the server reported it, else the image tag.
      const image = client?.image
        ? await prisma.image.findFirst({ where: { serverId: op.serverId ?? undefined, ref: client.image } })
        : null
      const version = createdVersion(outcome.data) ?? image?.version ?? client?.image?.split(':')[1] ?? null
      await prisma.client.update({
        where: { id: op.clientId },
        data: { status: 'active', available: true, availableCheckedAt: now, version },
      })
      void deps.monitor?.refresh(op.clientId)
    } else {
      await prisma.client.update({
        where: { id: op.clientId },
        data: { status: 'failed', available: false, availableCheckedAt: now },
      })
    }
  })
  deps.completions.register('client.delete', async (op, outcome) => {
    if (!op.clientId) return
    await prisma.client.update({
      where: { id: op.clientId },
      data: outcome.ok ? { status: 'deleted', deletedAt: deps.clock.now(), available: false } : { status: 'failed' },
    })
  })

  async function get(id: string) {
    const c = await prisma.client.findUnique({ where: { id }, include: { server: true } })
    if (!c) throw new NotFound('client', id)
    return c
  }

  /** 409 with the running operation's id when the client is busy: actions never interleave. */
  async function assertIdle(clientId: string) {
    const [running] = await operations.running({ clientId })
    if (running)
      throw new Conflict(`client has a running operation (${running.type})`, 'operation_running', {
        operationId: running.id,
        type: running.type,
      })
  }

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

  return {
    get,
    assertIdle,

    async create(attrs: ClientWrite, requestedBy: string) {
      const missing = REQUIRED_ON_CREATE.filter((k) => attrs[k] === undefined)
      if (missing.length) throw new Invalid(missing.map((k) => pointer(k, `${k} is required`, 'required')))
      const weakness = passwordWeakness(attrs.ownerPassword!, attrs.ownerLogin)
      if (weakness) throw new Invalid([pointer('ownerPassword', `password ${weakness}`, 'weak_password')])
      const server = await placeOn(attrs.server)
      attrs = { ...attrs, image: attrs.image ?? (await deps.defaultImage(server.id)) }
      const domain = attrs.domain ?? `${attrs.slug}.${server.baseDomain}`
      if (domain.length > 253)
        throw new Invalid([pointer('domain', 'the default domain would be longer than 253 characters')])
      hub.assertOnline(server.id, 'client.create')
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
      const { client, op } = await prisma
        .$transaction(async (tx) => {
          // A failed create leaves its row: repeating the POST with the same slug tries again on it.
          const previous = await tx.client.findUnique({ where: { slug: data.slug } })
          if (previous && previous.status !== 'failed')
            throw new Conflict(`slug ${data.slug} is taken`, 'slug_taken', { clientId: previous.id })
          const taken = await tx.client.findUnique({ where: { domain } })
          if (taken && taken.id !== previous?.id)
            throw new Conflict(`domain ${domain} is taken`, 'domain_taken', { clientId: taken.id })
          const row = previous
            ? await tx.client.update({ where: { id: previous.id }, data })
            : await tx.client.create({ data })
          const opRow = await tx.operation.create({
            data: {
              type: 'client.create',
              serverId: server.id,
              clientId: row.id,
              requestedBy,
              steps: CREATE_STEPS.map((name) => ({ name, status: 'pending' })) as Prisma.InputJsonValue,
            },
          })
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
          return { client: row, op: opRow }
        })
        .catch((err: unknown) => {
          if (isUniqueViolation(err)) throw new Conflict('slug or domain is taken', 'slug_taken')
          throw err
        })
      const payload: ClientCreatePayload = {
        clientId: client.id,
        slug: client.slug,
        domain: client.domain,
        image: client.image!,
        dbEngine: server.dbEngine,
        env: {},
        ownerLogin: client.ownerLogin,
        ownerPassword: attrs.ownerPassword!,
        tls: server.tlsEnabled,
        ...(client.memoryLimitMb ? { memoryLimitMb: client.memoryLimitMb } : {}),
        ...(client.cpuLimit ? { cpuLimit: client.cpuLimit } : {}),
        settings: {
          maintenance: client.maintenance,
          expireDate: isoDay(client.expireDate),
          turbostart: client.turbostart,
          tutorial: client.tutorial,
          version: client.version,
        },
        profile,
      }
      void hub.dispatch(op.id, server.id, { type: 'client.create', payload }, CREATE_DEADLINE_MS)
      return { client: await get(client.id), operation: op }
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
      return { client: await get(id), domainChange }
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
        where: { clientId: id, type: 'client.create' },
        orderBy: { createdAt: 'desc' },
      })
      if (!op) throw new NotFound('create log of client', id)
      return operations.get(op.id, { since, limit: CREATE_LOG_MAX_LINES })
    },

    /** Removes the client from its server (final dump kept there). A deleted client answers with nothing to do. */
    async remove(id: string, requestedBy: string) {
      const client = await get(id)
      if (client.status === 'deleted') return { client, operation: undefined }
      await assertIdle(id)
      hub.assertOnline(client.serverId, 'client.delete')
      const server = client.server!
      const op = await operations.create({
        type: 'client.delete',
        serverId: client.serverId,
        clientId: id,
        requestedBy,
        steps: ['dump', 'container', 'nginx', 'database'],
      })
      await prisma.client.update({ where: { id }, data: { status: 'deleting' } })
      void hub.dispatch(
        op.id,
        client.serverId,
        { type: 'client.delete', payload: { clientId: id, slug: client.slug, dbEngine: server.dbEngine } },
        DELETE_DEADLINE_MS,
      )
      return { client: await get(id), operation: op }
    },
  }
}

export type ClientService = ReturnType<typeof createClientService>
