import type { ServerInventoryResult as Inventory } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { ProfileResolver } from '../clients/app-profiles.ts'
import { isExpired, type ExpiryCalendar } from '../clients/expiry-calendar.ts'
import type { Clock } from '../clock.ts'
import { Conflict, NotFound } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { deployDiff, isClean, type DeployDiff } from './deploy-diff.ts'
import { runnerPlan } from './fleet-kinds.ts'
import {
  planDeploy,
  planMigrateAll,
  planSwitchAll,
  wavesOf,
  type FleetKind,
  type FleetLimits,
  type FleetPlan,
} from './fleet-plan.ts'
import type { ParentRunner } from '../operations/parent-runner.ts'

/** A server's inventory is quick to read (a list, a few inspects, one query per database). */
const INVENTORY_DEADLINE_MS = 60_000

export interface FleetServiceDeps {
  prisma: PrismaClient
  hub: AgentHub
  runner: ParentRunner
  profiles: ProfileResolver
  clock: Clock
  calendar: ExpiryCalendar
  limits: FleetLimits
}

/** What a dry run answers: the plan (who, in which waves, who is left out) and for deploy the difference found. */
export interface DryRun {
  plan: FleetPlan
  waves: string[][][]
  diff?: DeployDiff & { clean: boolean }
}

const dryRun = (plan: FleetPlan, diff?: DeployDiff): DryRun => ({
  plan,
  waves: plan.phases.map((p) => wavesOf(p).map((w) => w.map((c) => c.slug))),
  ...(diff ? { diff: { ...diff, clean: isClean(diff) } } : {}),
})

/**
 * The seed's fleet operations on one server: switch_all, migrate_all and deploy. Each is a parent operation with one
 * child per client (run by the ParentRunner); each dry run answers at once with the plan, and deploy's with the
 * difference between the server's inventory and the records.
 */
export function createFleetService(deps: FleetServiceDeps) {
  const { prisma, hub } = deps

  async function load(serverId: string) {
    const server = await prisma.server.findUnique({ where: { id: serverId } })
    if (!server) throw new NotFound('server', serverId)
    const clients = await prisma.client.findMany({ where: { serverId, status: { not: 'deleted' } } })
    return { server, clients }
  }

  /** Starts the parent on the operations core's runner (409 while an exclusive one runs on the server). */
  async function start(kind: FleetKind, plan: FleetPlan, requestedBy: string) {
    if (plan.phases.every((p) => p.children.length === 0))
      throw new Conflict(`no client of the server needs ${kind}`, 'nothing_to_do', {
        skipped: plan.phases.flatMap((p) => p.skipped.map((s) => `${s.slug}: ${s.reason}`)),
      })
    const operation = await deps.runner.start({ kind, serverId: plan.serverId, requestedBy, plan: runnerPlan(plan) })
    return { operation }
  }
  async function inventory(serverId: string, slugs: string[], dbEngine: 'mariadb' | 'postgresql'): Promise<Inventory> {
    const outcome = await hub.request(serverId, 'server.inventory', { dbEngine, slugs }, INVENTORY_DEADLINE_MS)
    if (!outcome.ok)
      throw new Conflict(`the agent could not list what the server has: ${outcome.error.message}`, 'inventory_failed', {
        agentError: outcome.error.code,
      })
    return outcome.data
  }

  return {
    /** Switch every active client of the server to `image` (canary, waves, failure limit); dryRun lists the plan. */
    async switchAll(serverId: string, image: string, opts: { dryRun: boolean }, requestedBy: string) {
      const loaded = await load(serverId)
      const plan = planSwitchAll(serverId, loaded.clients, image, deps.limits)
      if (opts.dryRun) return { dryRun: dryRun(plan) }
      hub.assertOnline(serverId, 'client.switch')
      return start('server.switch_all', plan, requestedBy)
    },

    /** Migrate every active client, continuing past failures. */
    async migrateAll(serverId: string, requestedBy: string) {
      const loaded = await load(serverId)
      const plan = planMigrateAll(serverId, loaded.clients, deps.limits)
      hub.assertOnline(serverId, 'client.app')
      return start('server.migrate_all', plan, requestedBy)
    },

    /**
     * Rebuild every active client's configuration from the records and restart in waves with health checks;
     * `migrate` chains migrate_all. dryRun answers the difference (changed, missing, orphaned) and changes nothing.
     */
    async deploy(serverId: string, opts: { dryRun: boolean; migrate: boolean }, requestedBy: string) {
      const loaded = await load(serverId)
      const plan = planDeploy(serverId, loaded.clients, deps.limits, { migrate: opts.migrate })
      if (opts.dryRun) {
        hub.assertOnline(serverId, 'server.inventory')
        const now = deps.clock.now()
        const records = loaded.clients.map((c) => ({ ...c, expired: isExpired(c.expireDate, now, deps.calendar) }))
        const found = await inventory(
          serverId,
          loaded.clients.map((c) => c.slug),
          loaded.server.dbEngine,
        )
        return { dryRun: dryRun(plan, deployDiff(records, found)) }
      }
      hub.assertOnline(serverId, 'client.deploy')
      return start('server.deploy', plan, requestedBy)
    },
  }
}

export type FleetService = ReturnType<typeof createFleetService>
