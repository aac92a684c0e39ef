import type { Logger } from 'pino'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { Clock } from '../clock.ts'
import type { Client, PrismaClient, Server } from '../generated/prisma/client.ts'
import type { ProfileResolver } from './app-profiles.ts'

export interface ClientMonitorOptions {
  /** How often every active client is probed through nginx and its users counted. */
  intervalMs?: number
  /** Probes in flight at once, so a big fleet does not flood one agent. */
  concurrency?: number
}

/**
 * Keeps `available` and `usersCount` of active clients fresh: a health probe through nginx and the profile's users
 * count, as read-only requests to the client's agent (not operations: they change nothing). Clients whose agent
 * is not connected to this process are left as they were last seen.
 */
export function createClientMonitor(
  deps: {
    prisma: PrismaClient
    hub: AgentHub
    clock: Clock
    logger: Logger
    profiles: ProfileResolver
  } & ClientMonitorOptions,
) {
  const { prisma, hub, clock } = deps
  const log = deps.logger.child({ component: 'client-monitor' })
  const intervalMs = deps.intervalMs ?? 60_000
  const concurrency = deps.concurrency ?? 8
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  async function check(client: Client & { server: Server }) {
    if (!hub.isOnline(client.serverId)) return
    const profile = deps.profiles(client.image ?? '')
    const probe = await hub.request(
      client.serverId,
      'client.probe',
      { slug: client.slug, domain: client.domain, healthPath: profile.healthPath },
      15_000,
    )
    const data: Partial<Client> = {}
    if (probe.ok) {
      const r = probe.data
      Object.assign(data, { available: r.available, availableCheckedAt: new Date(r.checkedAt) })
    } else {
      Object.assign(data, { available: false, availableCheckedAt: clock.now() })
    }
    try {
      hub.assertOnline(client.serverId, 'client.app')
      const count = await hub.request(
        client.serverId,
        'client.app',
        { slug: client.slug, action: 'usersCount', profile, dbEngine: client.server.dbEngine },
        30_000,
      )
      if (count.ok && count.data.usersCount !== undefined)
        Object.assign(data, { usersCount: count.data.usersCount, usersCountAt: clock.now() })
    } catch (err) {
      log.debug({ err, clientId: client.id }, 'users count skipped')
    }
    await prisma.client.update({ where: { id: client.id }, data })
  }

  async function checkAll(where: { id?: string } = {}) {
    const clients = await prisma.client.findMany({ where: { ...where, status: 'active' }, include: { server: true } })
    const queue = clients.filter((c) => hub.isOnline(c.serverId))
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          await check(c).catch((err: unknown) => log.warn({ err, clientId: c!.id }, 'client check failed'))
        }
      }),
    )
  }

  return {
    /** One pass over every active client (exported for tests and for the first run after start). */
    tick(): Promise<void> {
      running ??= checkAll().finally(() => {
        running = undefined
      })
      return running
    },
    /** Checks one client now (after its create or an action), without waiting for the next pass. */
    refresh(clientId: string): Promise<void> {
      return checkAll({ id: clientId }).catch((err: unknown) => log.warn({ err, clientId }, 'client refresh failed'))
    },
    start() {
      const loop = () => {
        timer = setTimeout(
          () =>
            void this.tick().finally(() => {
              if (timer) loop()
            }),
          intervalMs,
        )
        timer.unref()
      }
      loop()
    },
    async stop() {
      if (timer) clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}

export type ClientMonitor = ReturnType<typeof createClientMonitor>
