import { branchSchema, parseCommandResult, type BuildChannel } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { OperationCompletions } from '../agent-hub/operation-completions.ts'
import { Conflict, Invalid, NotFound } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { BuildConfigError, checkBuildConfig, type BuildConfig } from './build-config.ts'

/** A build fetches, builds the front end and the image: generous, the agent aborts at the deadline anyway. */
const BUILD_DEADLINE_MS = 60 * 60 * 1000
/** Prune removes images one by one; each removal is quick. */
const PRUNE_DEADLINE_MS = 10 * 60 * 1000
/** One build per server at a time: a second one would fight the first over the checkout and the CPU. */
const BUILD_OPERATION = 'image.build'
const PRUNE_OPERATION = 'image.prune'

/** Refs the clients on a server run (the master's records; the agent also checks its containers). */
async function refsInUse(prisma: PrismaClient, serverId: string): Promise<string[]> {
  const clients = await prisma.client.findMany({
    where: { serverId, deletedAt: null, status: { not: 'deleted' }, image: { not: null } },
    select: { image: true },
  })
  return [...new Set(clients.flatMap((c) => (c.image ? [c.image] : [])))]
}

/**
 * Image builds (build_dev, build_prod) and prune, each an operation through the server's agent. Started through the
 * hub's dispatchNew like the server actions, so the operations rework can port them in one place.
 */
export function createImageBuilds(deps: {
  prisma: PrismaClient
  hub: AgentHub
  completions: OperationCompletions
  config: BuildConfig
}) {
  const { prisma, hub } = deps

  // A built image is recorded with everything the build knows: version, channel, commit, branch, size, operation.
  deps.completions.register(BUILD_OPERATION, async (op, outcome) => {
    if (!outcome.ok || !op.serverId) return
    const parsed = parseCommandResult('image.build', outcome.data)
    if (!parsed.ok) return
    const r = parsed.result
    const fields = {
      version: r.version,
      channel: r.channel,
      gitCommit: r.commit,
      branch: r.branch,
      sizeBytes: BigInt(r.sizeBytes),
      builtAt: new Date(r.builtAt),
      // A reused image keeps the operation that really built it.
      ...(r.reused ? {} : { buildOperationId: op.id }),
    }
    await prisma.image.upsert({
      where: { serverId_ref: { serverId: op.serverId, ref: r.image } },
      create: { serverId: op.serverId, ref: r.image, ...fields, buildOperationId: op.id },
      update: fields,
    })
  })
  // Removed images leave the records; a dry run changes nothing.
  deps.completions.register(PRUNE_OPERATION, async (op, outcome) => {
    if (!outcome.ok || !op.serverId) return
    const parsed = parseCommandResult('image.prune', outcome.data)
    if (!parsed.ok || parsed.result.dryRun) return
    const refs = parsed.result.removed.map((r) => r.ref)
    await prisma.image.deleteMany({ where: { serverId: op.serverId, ref: { in: refs } } })
  })

  /** The configuration, checked again at use (a config given in code must not bypass the validators): 422. */
  function settings(): BuildConfig & { gitUrl: string } {
    let config: BuildConfig
    try {
      config = checkBuildConfig(deps.config)
    } catch (error) {
      if (!(error instanceof BuildConfigError)) throw error
      throw new Invalid([{ parameter: error.variable, detail: error.message }])
    }
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
      hub.assertOnline(serverId, 'image.build')
      const running = await prisma.operation.findFirst({
        where: { serverId, type: BUILD_OPERATION, status: { in: ['queued', 'running'] } },
        select: { id: true },
      })
      if (running) {
        throw new Conflict(`build ${running.id} is still running on this server`, 'operation_running', {
          operationId: running.id,
        })
      }
      const { operation } = await hub.dispatchNew(
        { type: BUILD_OPERATION, serverId, requestedBy },
        {
          type: 'image.build',
          payload: {
            repoUrl: config.gitUrl,
            branch: branch ?? (channel === 'dev' ? config.devBranch : config.prodBranch),
            channel,
            imageRepo: config.imageRepo,
            buildFront: channel === 'dev',
          },
        },
        BUILD_DEADLINE_MS,
      )
      return operation
    },

    /** Starts a prune on each online server (or the one named), one parent-less operation per server. */
    async prune(opts: { serverId?: string; dryRun: boolean }, requestedBy: string) {
      const config = settings()
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
        const { operation } = await hub.dispatchNew(
          { type: PRUNE_OPERATION, serverId: id, requestedBy },
          {
            type: 'image.prune',
            payload: {
              imageRepo: config.imageRepo,
              keepPerChannel: config.keepPerChannel,
              inUse: await refsInUse(prisma, id),
              dryRun: opts.dryRun,
            },
          },
          PRUNE_DEADLINE_MS,
        )
        operations.push(operation)
      }
      return { operations, skipped }
    },
  }
}

export type ImageBuilds = ReturnType<typeof createImageBuilds>
