import { dayStart } from '../calendar-day.ts'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { AgentOffline, Conflict } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { ClientActions } from './client-actions.ts'
import { today, type ExpiryCalendar } from './expiry-calendar.ts'

/**
 * Blocks a client on the day after its expire date and lifts the block when the date moves, without anyone calling
 * an endpoint: each pass compares the date with what the server serves (Client.expiryBlocked) and sends
 * client.configure where they differ. It also sends the settings of an update that found the client busy or its agent
 * offline (Client.settingsPending), which apply the expiry page too. A busy client or an offline agent is simply
 * tried again on the next pass.
 */
export function createExpiryEnforcer(deps: {
  prisma: PrismaClient
  clock: Clock
  logger: Logger
  actions: ClientActions
  calendar: ExpiryCalendar
  intervalMs?: number
}) {
  const log = deps.logger.child({ component: 'expiry-enforcer' })
  let timer: NodeJS.Timeout | undefined

  async function tick(): Promise<number> {
    const startOfToday = dayStart(today(deps.clock.now(), deps.calendar))
    const candidates = await deps.prisma.client.findMany({
      where: {
        status: 'active',
        OR: [{ expiryBlocked: true }, { expireDate: { lt: startOfToday } }, { settingsPending: true }],
      },
      include: { server: true },
    })
    let sent = 0
    for (const c of candidates) {
      try {
        if (c.settingsPending ? await deps.actions.applyPending(c) : await deps.actions.enforceExpiry(c)) sent++
      } catch (err) {
        if (err instanceof Conflict || err instanceof AgentOffline) continue
        log.error({ err, clientId: c.id }, 'could not enforce the expire date')
      }
    }
    if (sent) log.info({ sent }, 'expiry blocks and pending settings sent')
    return sent
  }

  return {
    tick,
    start() {
      const every = deps.intervalMs ?? 60_000
      const loop = () => {
        timer = setTimeout(
          () =>
            void tick()
              .catch((err: unknown) => log.error({ err }, 'expiry pass failed'))
              .finally(() => {
                if (timer) loop()
              }),
          every,
        )
        timer.unref()
      }
      loop()
    },
    stop() {
      if (timer) clearTimeout(timer)
      timer = undefined
    },
  }
}

export type ExpiryEnforcer = ReturnType<typeof createExpiryEnforcer>
