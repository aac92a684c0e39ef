import { Conflict, NotFound } from '../errors.ts'
import type { KindContext } from '../operations/kind-context.ts'
import { lockKeyOf, parentKind } from '../operations/kind-spec.ts'
import type { Operation } from '../generated/prisma/client.ts'
import type { ParentPlan } from '../operations/parent-runner.ts'
import { switchCommand } from '../clients/switch-command.ts'
import { deployCommand, migrateCommand } from './child-commands.ts'
import { wavesOf, type FleetPlan } from './fleet-plan.ts'
import { FleetItem, fleetProgress, type FleetAbout } from './fleet-progress.ts'

/**
 * A fleet plan as the parent runner's stored plan: one item per client and action. Each wave is a phase of its own
 * (the canary alone first, then `concurrency` at a time; a wave starts once the previous one ended, and the waves
 * after a canary need it to have succeeded). A phase without a failure limit (migrate) is one phase, `concurrency` at
 * a time, and its failures do not count toward the limit (mayFail); a phase after another (migrate after deploy)
 * needs each client's previous child to have succeeded.
 */
export function runnerPlan(plan: FleetPlan): ParentPlan {
  const items: FleetItem[] = []
  let phase = 0
  for (const [p, fleetPhase] of plan.phases.entries()) {
    const first = items.length
    const previous = new Map(items.map((item, i) => [item.clientId, i]))
    const waves = fleetPhase.maxFailures === null ? [fleetPhase.children] : wavesOf(fleetPhase)
    for (const wave of waves.filter((w) => w.length > 0)) {
      for (const c of wave) {
        const index = items.length
        const needs =
          fleetPhase.afterPrevious && p > 0
            ? previous.get(c.clientId)
            : fleetPhase.canary && index > first
              ? first
              : undefined
        items.push({
          action: fleetPhase.action,
          clientId: c.clientId,
          slug: c.slug,
          phase,
          ...(needs === undefined ? {} : { needs }),
          ...(fleetPhase.maxFailures === null ? { mayFail: true } : {}),
          ...(plan.image ? { image: plan.image } : {}),
        })
      }
      phase++
    }
  }
  const limits = plan.phases.flatMap((p) => (p.maxFailures === null ? [] : [p.maxFailures]))
  // Without any limit (migrate_all) nothing counts toward it; maxFailures must still be a positive number.
  const about: FleetAbout = {
    ...(plan.image ? { image: plan.image } : {}),
    phases: plan.phases.map((p) => ({ action: p.action, skipped: p.skipped })),
  }
  return {
    concurrency: Math.max(1, ...plan.phases.map((p) => p.concurrency)),
    maxFailures: limits.length ? Math.min(...limits) : Math.max(1, items.length),
    children: items,
    about,
  }
}

/** Starts one fleet child as the ordinary single-client operation of its action, from the client's current record. */
async function startChild(ctx: KindContext, parent: Operation, item: FleetItem, index: number) {
  const client = await ctx.prisma.client.findUnique({ where: { id: item.clientId } })
  if (!client || client.status !== 'active')
    throw new Conflict(`${item.slug} is no longer active`, 'client_not_active', { clientId: item.clientId })
  const server = await ctx.prisma.server.findUnique({ where: { id: client.serverId } })
  if (!server) throw new NotFound('server', client.serverId)
  const common = {
    serverId: server.id,
    clientId: client.id,
    lock: lockKeyOf.client(client.slug),
    requestedBy: parent.requestedBy ?? 'parent',
    parent: { id: parent.id, index },
  }
  if (item.action === 'switch') {
    if (!item.image) throw new Error(`switch child ${index} of ${parent.id} names no image`)
    await ctx.begin({
      ...common,
      kind: 'client.switch',
      command: switchCommand(ctx, client, server.dbEngine, item.image),
    })
  } else if (item.action === 'migrate')
    await ctx.begin({ ...common, kind: 'client.migrate', command: migrateCommand(ctx, client, server) })
  else await ctx.begin({ ...common, kind: 'client.deploy', command: deployCommand(ctx, client, server) })
}

/** A child interrupted under a restarting agent is started once more (the runner keeps its first attempt). */
const fleet = {
  target: 'server',
  exclusive: true,
  retryInterrupted: true,
  item: FleetItem,
  startChild,
  progress: fleetProgress,
} as const

/** The fleet parents (issue 13): one per server at a time, their children ordinary client operations. */
export const FLEET_KINDS = {
  'server.switch_all': parentKind({ ...fleet, childKind: 'client.switch' }),
  'server.migrate_all': parentKind({ ...fleet, childKind: 'client.migrate' }),
  'server.deploy': parentKind({ ...fleet, childKind: 'client.deploy' }),
} as const
