import type { z } from 'zod'
import { Conflict, Invalid, NotFound } from '../errors.ts'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import { createServerListQuery } from './server-list-query.ts'
import type { serverWritableAttributes } from './server-schemas.ts'

export type ServerWrite = z.infer<typeof serverWritableAttributes>

const REQUIRED_ON_CREATE = ['name', 'host', 'baseDomain'] as const

/** Servers: the hosts clients live on. Throws domain errors only. */
export function createServerService(deps: { prisma: PrismaClient; sql: Sql; totalTtlMs?: number }) {
  const { prisma } = deps
  const listQuery = createServerListQuery({ sql: deps.sql, totalTtlMs: deps.totalTtlMs })
  const withCounts = {
    _count: { select: { clients: { where: { status: { not: 'deleted' as const } } } } },
    latestMetrics: { select: { sample: true, takenAt: true } },
  }

  function uniqueConflict(err: unknown, attrs: ServerWrite): never {
    if (isUniqueViolation(err))
      throw new Conflict(`a server named ${JSON.stringify(attrs.name)} already exists`, 'name_taken')
    throw err
  }

  return {
    /** One page of servers and the total (see server-list-query.ts). */
    list: listQuery.list,

    async get(id: string) {
      const row = await prisma.server.findUnique({ where: { id }, include: withCounts })
      if (!row) throw new NotFound('server', id)
      return row
    },

    async create(attrs: ServerWrite) {
      const missing = REQUIRED_ON_CREATE.filter((k) => attrs[k] === undefined)
      if (missing.length)
        throw new Invalid(
          missing.map((k) => ({ pointer: `/data/attributes/${k}`, detail: `${k} is required`, code: 'required' })),
        )
      try {
        return await prisma.server.create({
          data: { ...attrs, name: attrs.name!, host: attrs.host!, baseDomain: attrs.baseDomain! },
          include: withCounts,
        })
      } catch (err) {
        return uniqueConflict(err, attrs)
      } finally {
        listQuery.invalidate()
      }
    },

    async update(id: string, attrs: ServerWrite) {
      await this.get(id)
      try {
        return await prisma.server.update({ where: { id }, data: attrs, include: withCounts })
      } catch (err) {
        return uniqueConflict(err, attrs)
      } finally {
        listQuery.invalidate()
      }
    },

    /** Removes the record only; refuses while clients still live on the server. */
    async remove(id: string) {
      await prisma.$transaction(async (tx) => {
        const server = await tx.server.findUnique({ where: { id } })
        if (!server) throw new NotFound('server', id)
        const live = await tx.client.count({ where: { serverId: id, status: { not: 'deleted' } } })
        if (live > 0)
          throw new Conflict(
            `server ${server.name} still has ${live} client(s); move or delete them first`,
            'server_has_clients',
            { clients: live },
          )
        // Deleted clients keep their history; detach nothing else: operations keep serverId via SET NULL.
        await tx.client.deleteMany({ where: { serverId: id, status: 'deleted' } })
        await tx.server.delete({ where: { id } })
      })
      listQuery.invalidate()
    },
  }
}

export type ServerService = ReturnType<typeof createServerService>
