import { branchSchema, type BuildChannel } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { lockKeyOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import { Conflict, Invalid, NotFound } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { BuildConfigError, checkBuildConfig, type BuildConfig } from './build-config.ts'

/** Refs the clients on a server run (the master's records; the agent also checks its containers). */
async function refsInUse(prisma: PrismaClient, serverId: string): Promise<string[]> {
  const clients = await prisma.client.findMany({
    where: { serverId, deletedAt: null, status: { not: 'deleted' }, image: { not: null } },
    select: { image: true },
  })
  return [...new Set(clients.flatMap((c) => (c.image ? [c.image] : [])))]
}

/**
 * Image builds (build_dev, build_prod) and prune, each an operation through the server's agent, started by `begin`
 * (kinds in image-kinds.ts): a second build on a server while one runs is a 409 naming it, decided under the
 * server's lock.
 */
export function createImageBuilds(deps: { prisma: PrismaClient; hub: AgentHub; begin: Begin; config: BuildConfig }) {
  const { prisma, hub } = deps

  /** The configuration, checked again at use (a config given in code must not bypass the validators): 422. */
  function checked(): BuildConfig {
    try {
      return checkBuildConfig(deps.config)
    } catch (error) {
      if (!(error instanceof BuildConfigError)) throw error
      throw new Invalid([{ parameter: error.variable, detail: error.message }])
    }
  }

  /** What a build needs: the checked configuration with a repository to build from (409 without one). */
  function settings(): BuildConfig & { gitUrl: string } {
    const config = checked()
    if (config.gitUrl === undefined) {
      throw new Conflict('image builds are not configured: set ALFA_APP_GIT_URL', 'builds_not_configured')
    }
    return { ...config, gitUrl: config.gitUrl }
  }

  async function assertServer(serverId: string) {
    const server = await prisma.server.findUnique({ where: { id: serverId }, select: { id: true } })
    if (!server) throw new NotFound('server', serverId)
  }

  return {
    /** Starts a build of the channel's branch (or `branch`) on the server; 409 while another build runs there. */
    async build(serverId: string, channel: BuildChannel, requestedBy: string, branch?: string) {
      const config = settings()
      if (branch !== undefined && !branchSchema.safeParse(branch).success) {
        const detail = branchSchema.safeParse(branch).error?.issues[0]?.message ?? 'not a branch'
        throw new Invalid([{ parameter: 'branch', detail: `branch: ${detail}` }])
      }
      await assertServer(serverId)
      const { operation } = await deps.begin({
        kind: 'image.build',
        serverId,
        lock: lockKeyOf.server(serverId),
        requestedBy,
        command: {
          type: 'image.build',
          payload: {
            repoUrl: config.gitUrl,
            branch: branch ?? (channel === 'dev' ? config.devBranch : config.prodBranch),
            channel,
            imageRepo: config.imageRepo,
            buildFront: channel === 'dev',
          },
        },
      })
      return operation
    },

    /** Starts a prune on each online server (or the one named), one parent-less operation per server. */
    async prune(opts: { serverId?: string; dryRun: boolean }, requestedBy: string) {
      // No repository needed: images loaded by hand, carried by a move or built elsewhere are pruned all the same.
      const config = checked()
      if (opts.serverId) await assertServer(opts.serverId)
      const servers = await prisma.server.findMany({
        where: opts.serverId ? { id: opts.serverId } : { active: true },
        select: { id: true },
        orderBy: { name: 'asc' },
      })
      const operations = []
      const skipped: { serverId: string; reason: string }[] = []
      for (const { id } of servers) {
        if (!hub.isOnline(id)) {
          if (opts.serverId) hub.assertOnline(id, 'image.prune')
          skipped.push({ serverId: id, reason: 'agent offline' })
          continue
        }
        const { operation } = await deps.begin({
          kind: 'image.prune',
          serverId: id,
          lock: lockKeyOf.server(id),
          requestedBy,
          command: {
            type: 'image.prune',
            payload: {
              imageRepo: config.imageRepo,
              keepPerChannel: config.keepPerChannel,
              inUse: await refsInUse(prisma, id),
              dryRun: opts.dryRun,
            },
          },
        })
        operations.push(operation)
      }
      return { operations, skipped }
    },
  }
}

export type ImageBuilds = ReturnType<typeof createImageBuilds>
