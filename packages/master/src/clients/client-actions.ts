import { dayStart } from '../calendar-day.ts'
import { CONFIGURE_LIMITS, type ClientSettings } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { passwordWeakness } from '../auth/password-policy.ts'
import type { Clock } from '../clock.ts'
import type { Sql } from '../db/sql.ts'
import { Conflict, Invalid, NotFound } from '../errors.ts'
import type { Operation, PrismaClient } from '../generated/prisma/client.ts'
import { lockKeyOf, type CommandOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import type { CommandKind, CommandTypeOf } from '../operations/operation-kinds.ts'
import { readActionClient, type ActionClient } from './action-client.ts'
import type { ProfileResolver } from './app-profiles.ts'
import { isExpired, type ExpiryCalendar } from './expiry-calendar.ts'
import { settingsOf } from './command-fields.ts'
import { releaseDeletedHolders } from './deleted-holders.ts'
import { switchCommand } from './switch-command.ts'
import { createPendingSettings } from './pending-settings.ts'

/**
 * The seed's actions on a running client, each an operation through the client's agent, started by `begin` (one
 * exclusive operation per client: a second action while one runs is a 409 naming the running operation).
 */
export function createClientActions(deps: {
  prisma: PrismaClient
  sql: Sql
  hub: AgentHub
  begin: Begin
  profiles: ProfileResolver
  clock: Clock
  calendar: ExpiryCalendar
}) {
  const { prisma, hub, clock } = deps

  async function load(id: string): Promise<ActionClient> {
    const c = await readActionClient(deps.sql, id)
    if (!c || c.status === 'deleted') throw new NotFound('client', id)
    if (c.status !== 'active')
      throw new Conflict(`client is ${c.status}; actions need an active client`, 'client_not_active')
    return c
  }

  /** Starts the action's operation; under the lock the client must still be active (a delete may have won). */
  async function run<K extends CommandKind>(
    client: ActionClient,
    kind: K,
    command: CommandOf<CommandTypeOf<K>>,
    requestedBy: string,
  ) {
    const { operation } = await deps.begin({
      kind,
      serverId: client.serverId,
      clientId: client.id,
      lock: lockKeyOf.client(client.slug),
      requestedBy,
      requireActiveClient: true,
      command,
    })
    return operation
  }

  const app = (c: ActionClient, action: 'migrate' | 'demoSeed' | 'demoUnseed') =>
    ({
      type: 'client.app',
      payload: { slug: c.slug, action, profile: deps.profiles(c.image ?? ''), dbEngine: c.server!.dbEngine },
    }) as const
  /** client.configure with the record's settings (patched), and the expiry page as the record's date says. */
  const configure = (
    c: ActionClient,
    patch: Partial<ClientSettings> = {},
    expired = isExpired(c.expireDate, clock.now(), deps.calendar),
  ) =>
    ({
      type: 'client.configure',
      payload: { clientId: c.id, slug: c.slug, dbEngine: c.server!.dbEngine, settings: settingsOf(c, patch), expired },
    }) as const

  /**
   * The record's limits as client.configure takes them (null: the agent's default), when an update changed them and
   * the client's agent sets them in place (CONFIGURE_LIMITS); else nothing, and the next deploy applies them.
   */
  const limitsInPlace = (c: ActionClient, changed: boolean) =>
    changed && hub.announces(c.serverId, CONFIGURE_LIMITS)
      ? { limits: { memoryMb: c.memoryLimitMb, cpus: c.cpuLimit } }
      : {}

  /** What an update could not send at once, sent later with the record's settings and limits. */
  const pending = createPendingSettings({
    prisma,
    hub,
    begin: deps.begin,
    command(c) {
      const command = configure(c)
      return { ...command, payload: { ...command.payload, ...limitsInPlace(c, true) } }
    },
    read: (id) => readActionClient(deps.sql, id),
  })

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
        configure(c, { maintenance: enable }),
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
      const date = day ? dayStart(day) : null
      await prisma.$transaction([
        prisma.client.update({ where: { id }, data: { expireDate: date } }),
        prisma.expireDateHistory.create({
          data: { clientId: id, oldDate: c.expireDate, newDate: date, changedBy: by, reason: reason ?? null },
        }),
      ])
      const updated = { ...c, expireDate: date }
      let operation
      try {
        operation = await run(updated, 'client.expire_date', configure(updated), by)
      } catch (err) {
        // Busy or offline: the date is recorded, and the expiry enforcer applies it as soon as it can.
        await pending.mark(id, c.serverId, err)
      }
      return { client: await prisma.client.findUniqueOrThrow({ where: { id }, include: { server: true } }), operation }
    },

    /**
     * Applies what an update changed to the server: the settings (cloud_settings, and the expiry page as the date
     * says) and the container's memory and CPU limits, in place, when its agent takes them (CONFIGURE_LIMITS). Busy,
     * offline or not active: the change stays recorded and marked, `pending` says why, and it is sent once the client
     * is free or the agent back (pending-settings.ts).
     */
    async applyUpdate(
      id: string,
      change: { settings: boolean; limits: boolean },
      by: string,
    ): Promise<{ operation?: Operation; pending?: string }> {
      let serverId: string | undefined
      try {
        const c = await load(id)
        serverId = c.serverId
        // Offline (or unable to configure): the catch below says so, before announces() could only say no.
        hub.assertOnline(c.serverId, 'client.configure')
        const limits = limitsInPlace(c, change.limits)
        const later =
          change.limits && !limits.limits
            ? `the agent of server ${c.serverId} does not set limits in place: the next deploy applies them`
            : undefined
        if (!change.settings && !limits.limits) return { pending: later }
        const command = configure(c)
        const operation = await run(
          c,
          'client.settings',
          { ...command, payload: { ...command.payload, ...limits } },
          by,
        )
        return later ? { operation, pending: later } : { operation }
      } catch (err) {
        return { pending: await pending.mark(id, serverId, err) }
      }
    },

    /** Sends what an update recorded while it could not reach the server (the enforcer's per-client step). */
    applyPending: pending.apply,
    /** An operation on the client ended, or its agent came back: what an update marked meanwhile goes out now. */
    clientFree: pending.clientFree,
    /** The clients this process marked on a server, for when its agent comes back. */
    markedOn: pending.markedOn,

    /**
     * Moves the client's site to a new domain; the record follows once nginx serves it. Limits changed by the same
     * update go with it when the agent sets them in place (else the next deploy applies them).
     */
    async changeDomain(id: string, domain: string, by: string, change: { limits: boolean } = { limits: false }) {
      const c = await load(id)
      const taken = await prisma.client.findUnique({ where: { domain } })
      // A client deleted for good gives its domain up, as to a new client (deleted-holders.ts).
      if (taken?.status === 'deleted') await prisma.$transaction((tx) => releaseDeletedHolders(tx, taken.slug, domain))
      else if (taken && taken.id !== id)
        throw new Conflict(`domain ${domain} is taken`, 'domain_taken', { clientId: taken.id })
      const command = configure(c)
      const limits = limitsInPlace(c, change.limits)
      return run(c, 'client.domain', { ...command, payload: { ...command.payload, domain, ...limits } }, by)
    },

    async switchImage(id: string, image: string, by: string) {
      const c = await load(id)
      if (image === c.image) throw new Conflict(`client already runs ${image}`, 'same_image')
      const command = switchCommand({ profiles: deps.profiles, announces: hub.announces }, c, c.server!.dbEngine, image)
      return run(c, 'client.switch', command, by)
    },

    /** Brings the server's expiry page in line with the date (the enforcer's per-client step). */
    async enforceExpiry(c: ActionClient): Promise<boolean> {
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
