/**
 * The plans of the fleet operations on one server (switch_all, migrate_all, deploy), as data: which client gets
 * which child action, in what order and how many at a time, and who is left out and why. Pure, so a plan can be
 * shown by a dry run, stored with its parent, and resumed from the stored copy.
 */

/** The parent operation kinds. */
export type FleetKind = 'server.switch_all' | 'server.migrate_all' | 'server.deploy'

/** What one child does to one client (each is an existing single-client operation). */
export type ChildAction = 'switch' | 'migrate' | 'deploy'

/** The fields of a client record a plan needs. */
export interface FleetClient {
  id: string
  slug: string
  image: string | null
  status: string
}

/** One client in a plan. */
export interface PlannedChild {
  clientId: string
  slug: string
}

/** A client the plan leaves out, and why (not active; already on the image). */
export interface LeftOut extends PlannedChild {
  reason: string
}

export interface FleetPhase {
  action: ChildAction
  /** The first child runs alone; the rest start only if it succeeded. */
  canary: boolean
  /** Children in flight at once: a wave is this many, and the next wave starts when the last one has ended. */
  concurrency: number
  /** No new child starts once this many failed; null: every child runs whatever happens to the others. */
  maxFailures: number | null
  /** Only the clients whose child succeeded in the previous phase (migrate after deploy). */
  afterPrevious: boolean
  children: PlannedChild[]
  /** Clients not touched, with the reason (listed in the summary as skipped). */
  skipped: LeftOut[]
}

export interface FleetPlan {
  kind: FleetKind
  serverId: string
  /** The image switch_all moves clients to. */
  image?: string
  phases: FleetPhase[]
}

export interface FleetLimits {
  /** ALFA_FLEET_CONCURRENCY: children at once (2). */
  concurrency: number
  /** ALFA_FLEET_MAX_FAILURES: failures after which no new child starts (1). */
  maxFailures: number
}

export const DEFAULT_FLEET_LIMITS: FleetLimits = { concurrency: 2, maxFailures: 1 }

const child = (c: FleetClient): PlannedChild => ({ clientId: c.id, slug: c.slug })
const NOT_ACTIVE = (c: FleetClient): LeftOut => ({ ...child(c), reason: `not active (${c.status})` })

/** Clients in a stable order (by slug), so a plan, its dry run and a resumed run agree on who goes first. */
function ordered(clients: readonly FleetClient[]): FleetClient[] {
  return [...clients].filter((c) => c.status !== 'deleted').sort((a, b) => a.slug.localeCompare(b.slug))
}

/**
 * switch_all: every active client not already on `image`; the first is the canary, then waves of `concurrency`;
 * no new child after `maxFailures` failures. Clients already on the image and inactive ones are listed as skipped.
 */
export function planSwitchAll(
  serverId: string,
  clients: readonly FleetClient[],
  image: string,
  limits: FleetLimits,
): FleetPlan {
  const all = ordered(clients)
  const active = all.filter((c) => c.status === 'active')
  return {
    kind: 'server.switch_all',
    serverId,
    image,
    phases: [
      {
        action: 'switch',
        canary: true,
        concurrency: limits.concurrency,
        maxFailures: limits.maxFailures,
        afterPrevious: false,
        children: active.filter((c) => c.image !== image).map(child),
        skipped: [
          ...active.filter((c) => c.image === image).map((c) => ({ ...child(c), reason: `already runs ${image}` })),
          ...all.filter((c) => c.status !== 'active').map(NOT_ACTIVE),
        ],
      },
    ],
  }
}

/** The migrate phase: every active client, continuing past failures (one failed migrate never stops the others). */
function migratePhase(all: FleetClient[], limits: FleetLimits, afterPrevious: boolean): FleetPhase {
  return {
    action: 'migrate',
    canary: false,
    concurrency: limits.concurrency,
    maxFailures: null,
    afterPrevious,
    children: all.filter((c) => c.status === 'active').map(child),
    skipped: all.filter((c) => c.status !== 'active').map(NOT_ACTIVE),
  }
}

/** migrate_all: every active client's migrations; inactive ones are skipped. */
export function planMigrateAll(serverId: string, clients: readonly FleetClient[], limits: FleetLimits): FleetPlan {
  return { kind: 'server.migrate_all', serverId, phases: [migratePhase(ordered(clients), limits, false)] }
}

/**
 * deploy: every active client's configuration rebuilt and restarted in waves with health checks, stopping after
 * `maxFailures` failed health checks; with `migrate`, migrate_all follows for the clients that deployed.
 */
export function planDeploy(
  serverId: string,
  clients: readonly FleetClient[],
  limits: FleetLimits,
  opts: { migrate: boolean },
): FleetPlan {
  const all = ordered(clients)
  const deploy: FleetPhase = {
    action: 'deploy',
    canary: false,
    concurrency: limits.concurrency,
    maxFailures: limits.maxFailures,
    afterPrevious: false,
    children: all.filter((c) => c.status === 'active').map(child),
    skipped: all.filter((c) => c.status !== 'active').map(NOT_ACTIVE),
  }
  return {
    kind: 'server.deploy',
    serverId,
    phases: opts.migrate ? [deploy, migratePhase(all, limits, true)] : [deploy],
  }
}

/** The waves a phase runs in: the canary alone, then groups of `concurrency`. */
export function wavesOf(phase: Pick<FleetPhase, 'canary' | 'concurrency' | 'children'>): PlannedChild[][] {
  const rest = [...phase.children]
  const waves: PlannedChild[][] = []
  if (phase.canary && rest.length > 0) waves.push(rest.splice(0, 1))
  const size = Math.max(1, phase.concurrency)
  while (rest.length > 0) waves.push(rest.splice(0, size))
  return waves
}
