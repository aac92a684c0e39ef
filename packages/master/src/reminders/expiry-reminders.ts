import { dayStart } from '../calendar-day.ts'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import type { EmailLog, PrismaClient } from '../generated/prisma/client.ts'
import { daysBetween, isoDate, todayIn } from '../mail/calendar.ts'
import type { CustomerLetters } from '../mail/customer-letters.ts'
import type { LetterClient } from '../mail/letter-content.ts'
import { isQuiet, type QuietHours } from './quiet-hours.ts'
import { dueThreshold, thresholdDays, thresholdLabel } from './reminder-plan.ts'

export interface ExpiryRemindersOptions {
  prisma: PrismaClient
  clock: Clock
  letters: CustomerLetters
  logger: Logger
  /** Days before the expire date at which a reminder goes out; 0 is the day itself. */
  thresholdsDays?: readonly number[]
  quietHours?: QuietHours | undefined
  /**
   * Zone in which days are counted and quiet hours read. Europe/Moscow by default: the customers are Russian
   * laboratories, and a UTC day would turn over at 03:00 their time.
   */
  timeZone?: string
  /** Pause between passes; a pass is cheap (one query for the clients in the window). */
  intervalMs?: number
}

export const DEFAULT_THRESHOLDS = [14, 7, 1, 0] as const
export const DEFAULT_REMINDER_ZONE = 'Europe/Moscow'
export const DEFAULT_REMINDER_INTERVAL_MS = 15 * 60_000

/** What one pass did, for tests and the log. */
export interface TickReport {
  quiet: boolean
  /** Reminders this instance claimed and sent (or that finally failed). */
  sent: number
  failed: number
  /** Reminders another instance (or an earlier pass) claimed first. */
  lost: number
}

/**
 * Expiry reminders: every interval, each active client whose expire date is within reach gets the reminder that
 * is due (see reminder-plan.ts), exactly once per (client, threshold, expire date).
 *
 * Exactly once rests on the database, not on this process: the EmailLog row is inserted before the letter is sent,
 * and its unique key (clientId, kind, threshold, expireDate) lets only one insert win. A restarted master, a second
 * replica on the same PostgreSQL or a pass that overlaps another all lose the insert (P2002) and skip. A new expire
 * date is a new key, so changing the date re-arms every threshold. The price of claiming first: a master killed
 * between the claim and the send leaves that reminder unsent (failAbandoned marks it failed), never sent twice.
 */
export function createExpiryReminders(opts: ExpiryRemindersOptions) {
  const { prisma, clock, letters } = opts
  const log = opts.logger.child({ component: 'expiry-reminders' })
  const thresholds = [...(opts.thresholdsDays ?? DEFAULT_THRESHOLDS)].sort((a, b) => b - a)
  const timeZone = opts.timeZone ?? DEFAULT_REMINDER_ZONE
  const intervalMs = opts.intervalMs ?? DEFAULT_REMINDER_INTERVAL_MS
  const reach = Math.max(0, ...thresholds)
  let running: Promise<TickReport> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = true

  /** Claims the reminder by writing its row; false when someone else already holds it. */
  async function claim(
    client: LetterClient,
    threshold: number,
    letter: Awaited<ReturnType<CustomerLetters['composeReminder']>>,
  ): Promise<EmailLog | undefined> {
    try {
      return await prisma.emailLog.create({
        data: {
          clientId: client.id,
          kind: 'reminder',
          threshold: thresholdLabel(threshold),
          expireDate: client.expireDate,
          recipient: letter.recipient,
          subject: letter.subject,
          language: letter.language,
          createdAt: clock.now(),
        },
      })
    } catch (err) {
      if (isUniqueViolation(err)) return undefined
      throw err
    }
  }

  async function remind(client: LetterClient, written: number[], today: string, report: TickReport): Promise<void> {
    const daysLeft = daysBetween(today, isoDate(client.expireDate!))
    const threshold = dueThreshold(daysLeft, thresholds, written)
    if (threshold === undefined) return
    let letter
    try {
      letter = await letters.composeReminder(client)
    } catch (err) {
      // Not claimed: once the operator fixes the template, the next pass sends it.
      log.error(
        { clientId: client.id, threshold, error: err instanceof Error ? err.message : String(err) },
        'reminder could not be built',
      )
      return
    }
    const row = await claim(client, threshold, letter)
    if (!row) {
      report.lost++
      return
    }
    const final = await letters.deliver(row, letter)
    if (final.status === 'sent') report.sent++
    else report.failed++
  }

  async function pass(): Promise<TickReport> {
    const report: TickReport = { quiet: false, sent: 0, failed: 0, lost: 0 }
    const now = clock.now()
    if (isQuiet(opts.quietHours, now, timeZone)) return { ...report, quiet: true }
    await letters.failAbandoned()
    const today = todayIn(timeZone, now)
    const from = dayStart(today)
    const clients = await prisma.client.findMany({
      where: {
        status: 'active',
        deletedAt: null,
        // Copies on stage servers (copy_to) get no reminders: their owner is the origin's.
        remindersEnabled: true,
        expireDate: { gte: from, lte: new Date(from.getTime() + reach * 86_400_000) },
      },
      include: { server: { select: { tlsEnabled: true, sitesPort: true } } },
    })
    if (clients.length === 0) return report
    const rows = await prisma.emailLog.findMany({
      where: { kind: 'reminder', clientId: { in: clients.map((c) => c.id) } },
      select: { clientId: true, threshold: true, expireDate: true },
    })
    for (const client of clients) {
      // Only rows about the current expire date count: an earlier date's reminders do not silence the new one's.
      const written = rows
        .filter(
          (r) => r.clientId === client.id && r.expireDate && isoDate(r.expireDate) === isoDate(client.expireDate!),
        )
        .map((r) => thresholdDays(r.threshold))
        .filter((d): d is number => d !== undefined)
      try {
        await remind(client, written, today, report)
      } catch (err) {
        log.error({ clientId: client.id, err }, 'reminder pass failed for a client')
      }
    }
    if (report.sent + report.failed > 0) log.info({ ...report }, 'expiry reminders pass')
    return report
  }

  function schedule(delayMs: number) {
    if (stopped) return
    timer = setTimeout(() => {
      void tick()
        .catch((err: unknown) => log.error({ err }, 'expiry reminders pass failed'))
        .finally(() => schedule(intervalMs))
    }, delayMs)
    timer.unref()
  }

  /** One pass; overlapping calls on one instance share the pass in progress. */
  function tick(): Promise<TickReport> {
    running ??= pass().finally(() => {
      running = undefined
    })
    return running
  }

  return {
    tick,
    /** Runs a pass now and then every intervalMs. */
    start() {
      if (!stopped) return
      stopped = false
      log.info({ thresholdsDays: thresholds, timeZone, quietHours: opts.quietHours, intervalMs }, 'expiry reminders on')
      schedule(0)
    },
    /** No new passes; waits for the one in progress. */
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running?.catch(() => undefined)
    },
  }
}

export type ExpiryReminders = ReturnType<typeof createExpiryReminders>
