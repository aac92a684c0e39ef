import type { ClientSettings, ClientSwitchResult, Command } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { OperationCompletions } from '../agent-hub/operation-completions.ts'
import { passwordWeakness } from '../auth/password-policy.ts'
import type { Clock } from '../clock.ts'
import { AgentOffline, Conflict, Invalid, NotFound } from '../errors.ts'
import type { Client, Prisma, PrismaClient, Server } from '../generated/prisma/client.ts'
import type { ProfileResolver } from './app-profiles.ts'
import { isoDay } from './client-serializer.ts'
import { isExpired, type ExpiryCalendar } from './expiry-calendar.ts'

type FullClient = Client & { server: Server | null }

/** Budgets of the app commands: migrations and image switches can take a while on a big laboratory. */
const DEADLINES: Record<string, number> = {
  'client.app': 30 * 60_000,
  'client.configure': 2 * 60_000,
  'client.restart': 5 * 60_000,
  'client.switch': 60 * 60_000,
}

/** The cloud_settings row as the client's record says it should be. */
export function settingsOf(c: Client, patch: Partial<ClientSettings> = {}): ClientSettings {
  return {
    maintenance: c.maintenance,
    expireDate: isoDay(c.expireDate),
    turbostart: c.turbostart,
    tutorial: c.tutorial,
    version: c.version,
    ...patch,
  }
}

/**
 * The seed's actions on a running client, each an operation through the client's agent. One operation per client
 * at a time: a second action while one runs is a 409 naming the running operation.
 */
export function createClientActions(deps: {
  prisma: PrismaClient
  hub: AgentHub
  completions: OperationCompletions
  profiles: ProfileResolver
  clock: Clock
  calendar: ExpiryCalendar
}) {
  const { prisma, hub, completions, clock } = deps

  // Record changes only once the server made them, so the record never claims what the server does not do.
  const set =
    (data: (op: { command: unknown; result: unknown }) => Prisma.ClientUpdateInput) =>
    async (op: { clientId: string | null; command: unknown; result: unknown }, outcome: { ok: boolean }) => {
      if (op.clientId && outcome.ok) await prisma.client.update({ where: { id: op.clientId }, data: data(op) })
    }
  completions.register(
    'client.demo_enable',
    set(() => ({ demo: true })),
  )
  completions.register(
    'client.demo_disable',
    set(() => ({ demo: false })),
  )
  completions.register(
    'client.maintain_enable',
    set(() => ({ maintenance: true })),
  )
  completions.register(
    'client.maintain_disable',
    set(() => ({ maintenance: false })),
  )
  completions.register(
    'client.expiry',
    set((op) => ({ expiryBlocked: (op.command as { payload: { expired: boolean } }).payload.expired })),
  )
  completions.register(
    'client.expire_date',
    set((op) => ({ expiryBlocked: (op.command as { payload: { expired: boolean } }).payload.expired })),
  )
  // The stored command holds the new password sealed already: it becomes the client's sealed password as is.
  completions.register(
    'client.owner_password',
    set((op) => ({
      ownerPasswordEnc: (op.command as { payload: { ownerPassword: { $sealed: string } } }).payload.ownerPassword
        .$sealed,
    })),
  )
  completions.register(
    'client.domain',
    set((op) => ({ domain: (op.command as { payload: { domain: string } }).payload.domain })),
  )
  completions.register(
    'client.switch',
    set((op) => {
      const r = op.result as ClientSwitchResult
      return { image: r.image, version: r.version ?? r.image.split(':')[1] ?? null }
    }),
  )

  async function load(id: string): Promise<FullClient> {
    const c = await prisma.client.findUnique({ where: { id }, include: { server: true } })
    if (!c || c.status === 'deleted') throw new NotFound('client', id)
    if (c.status !== 'active')
      throw new Conflict(`client is ${c.status}; actions need an active client`, 'client_not_active')
    return c
  }

  /** Creates the operation under a per-client lock (no two at once), then sends its command. */
  async function run(client: FullClient, type: string, command: Command, requestedBy: string, steps: string[] = []) {
    hub.assertOnline(client.serverId, command.type)
    const op = await prisma.$transaction(async (tx) => {
      // Serialises concurrent requests for one client across requests and replicas; released at commit.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${client.id}))`
      const running = await tx.operation.findFirst({
        where: { clientId: client.id, status: { in: ['queued', 'running'] } },
      })
      if (running)
        throw new Conflict(`client has a running operation (${running.type})`, 'operation_running', {
          operationId: running.id,
          type: running.type,
        })
      return tx.operation.create({
        data: {
          type,
          serverId: client.serverId,
          clientId: client.id,
          requestedBy,
          steps: steps.map((name) => ({ name, status: 'pending' })) as Prisma.InputJsonValue,
        },
      })
    })
    void hub.dispatch(op.id, client.serverId, command, DEADLINES[command.type] ?? 10 * 60_000)
    return op
  }

  const app = (c: FullClient, action: 'migrate' | 'demoSeed' | 'demoUnseed') =>
    ({
      type: 'client.app',
      payload: { slug: c.slug, action, profile: deps.profiles(c.image ?? ''), dbEngine: c.server!.dbEngine },
    }) as const
  const configure = (c: FullClient, patch: Partial<ClientSettings>, expired: boolean) =>
    ({
      type: 'client.configure',
      payload: { clientId: c.id, slug: c.slug, dbEngine: c.server!.dbEngine, settings: settingsOf(c, patch), expired },
    }) as const

  return {
    async reboot(id: string, by: string) {
      const c = await load(id)
      return run(
        c,
        'client.reboot',
        { type: 'client.restart', payload: { slug: c.slug, domain: c.domain, profile: deps.profiles(c.image ?? '') } },
        by,
      )
    },
    async migrate(id: string, by: string) {
      const c = await load(id)
      return run(c, 'client.migrate', app(c, 'migrate'), by)
    },
    async demo(id: string, enable: boolean, by: string) {
      const c = await load(id)
      return run(
        c,
        enable ? 'client.demo_enable' : 'client.demo_disable',
        app(c, enable ? 'demoSeed' : 'demoUnseed'),
        by,
      )
    },
    async maintenance(id: string, enable: boolean, by: string) {
      const c = await load(id)
      return run(
        c,
        enable ? 'client.maintain_enable' : 'client.maintain_disable',
        configure(c, { maintenance: enable }, isExpired(c.expireDate, clock.now(), deps.calendar)),
        by,
      )
    },
    async ownerPassword(id: string, password: string, by: string) {
      const c = await load(id)
      const weakness = passwordWeakness(password, c.ownerLogin)
      if (weakness)
        throw new Invalid([
          { pointer: '/data/attributes/password', detail: `password ${weakness}`, code: 'weak_password' },
        ])
      const profile = deps.profiles(c.image ?? '')
      return run(
        c,
        'client.owner_password',
        {
          type: 'client.app',
          payload: {
            slug: c.slug,
            action: 'setOwnerPassword',
            profile,
            dbEngine: c.server!.dbEngine,
            ownerLogin: c.ownerLogin,
            ownerPassword: password,
          },
        },
        by,
      )
    },

    /**
     * Sets the expire date and records the change; the server follows at once when its agent is free (cloud_settings,
     * and the expiry page when the date has passed), else the expiry enforcer brings it in line on its next pass.
     */
    async expireDate(id: string, day: string | null, reason: string | undefined, by: string) {
      const c = await load(id)
      const date = day ? new Date(`${day}T00:00:00Z`) : null
      await prisma.$transaction([
        prisma.client.update({ where: { id }, data: { expireDate: date } }),
        prisma.expireDateHistory.create({
          data: { clientId: id, oldDate: c.expireDate, newDate: date, changedBy: by, reason: reason ?? null },
        }),
      ])
      const updated = { ...c, expireDate: date }
      let operation
      try {
        operation = await run(
          updated,
          'client.expire_date',
          configure(updated, {}, isExpired(date, clock.now(), deps.calendar)),
          by,
        )
      } catch (err) {
        // Busy or offline: the date is recorded, and the expiry enforcer applies it as soon as it can.
        if (!(err instanceof Conflict) && !(err instanceof AgentOffline)) throw err
      }
      return { client: await prisma.client.findUniqueOrThrow({ where: { id }, include: { server: true } }), operation }
    },

    /** Moves the client's site to a new domain; the record follows once nginx serves it. */
    async changeDomain(id: string, domain: string, by: string) {
      const c = await load(id)
      const taken = await prisma.client.findUnique({ where: { domain } })
      if (taken && taken.id !== id)
        throw new Conflict(`domain ${domain} is taken`, 'domain_taken', { clientId: taken.id })
      const command = configure(c, {}, isExpired(c.expireDate, clock.now(), deps.calendar))
      return run(c, 'client.domain', { ...command, payload: { ...command.payload, domain } }, by)
    },

    async switchImage(id: string, image: string, by: string) {
      const c = await load(id)
      if (image === c.image) throw new Conflict(`client already runs ${image}`, 'same_image')
      const profile = deps.profiles(image)
      return run(
        c,
        'client.switch',
        {
          type: 'client.switch',
          payload: {
            clientId: c.id,
            slug: c.slug,
            domain: c.domain,
            dbEngine: c.server!.dbEngine,
            image,
            profile,
            settings: settingsOf(c, { version: image.split(':')[1] ?? null }),
            ...(c.memoryLimitMb ? { memoryLimitMb: c.memoryLimitMb } : {}),
            ...(c.cpuLimit ? { cpuLimit: c.cpuLimit } : {}),
          },
        },
        by,
        ['snapshot', 'start-new', 'migrate', 'health', 'switch-site', 'settings', 'cleanup'],
      )
    },

    /** Brings the server's expiry page in line with the date (the enforcer's per-client step). */
    async enforceExpiry(c: FullClient): Promise<boolean> {
      const expired = isExpired(c.expireDate, clock.now(), deps.calendar)
      if (expired === c.expiryBlocked || !hub.isOnline(c.serverId)) return false
      await run(c, 'client.expiry', configure(c, {}, expired), 'expiry-enforcer')
      return true
    },

    async history(id: string, page: { number: number; size: number }) {
      const c = await prisma.client.findUnique({ where: { id } })
      if (!c) throw new NotFound('client', id)
      const [rows, total] = await prisma.$transaction([
        prisma.expireDateHistory.findMany({
          where: { clientId: id },
          orderBy: [{ changedAt: 'desc' }, { id: 'asc' }],
          skip: (page.number - 1) * page.size,
          take: page.size,
        }),
        prisma.expireDateHistory.count({ where: { clientId: id } }),
      ])
      return { rows, total }
    },
  }
}

export type ClientActions = ReturnType<typeof createClientActions>
