import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { createExpiryReminders, DEFAULT_REMINDER_ZONE } from '../reminders/expiry-reminders.ts'
import type { QuietHours } from '../reminders/quiet-hours.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import { assertTimeZone } from './calendar.ts'
import { createCustomerLetters } from './customer-letters.ts'
import { defaultExtendText } from './letter-content.ts'
import { createLetterDelivery, DEFAULT_RETRY, longestDelivery, type RetryPolicy } from './letter-delivery.ts'
import { DEFAULT_TEMPLATES_DIR, type LetterLanguage } from './letter-templates.ts'
import { createMailer } from './mailer.ts'

/** Customer mail settings (ALFA_SMTP_URL, ALFA_MAIL_*, ALFA_REMINDER_*; README.md lists them). */
export interface MailConfig {
  smtpUrl?: string | undefined
  from?: string | undefined
  replyTo?: string | undefined
  templatesDir?: string | undefined
  extendText?: Partial<Record<LetterLanguage, string>> | undefined
  /** Customers' zone for "today", days left and quiet hours. */
  timeZone?: string | undefined
  retry?: Partial<RetryPolicy> | undefined
  /** Bound of one SMTP attempt (connect, greeting, silence). */
  attemptTimeoutMs?: number | undefined
  /** How long send_success / send_expire wait for the letter before answering with its row as it stands. */
  requestWaitMs?: number | undefined
  reminders?:
    | {
        /** False turns the scheduler off; it is also off while SMTP is not configured, so no reminder is burnt as failed. */
        enabled?: boolean | undefined
        thresholdsDays?: readonly number[] | undefined
        quietHours?: QuietHours | undefined
        intervalMs?: number | undefined
      }
    | undefined
}

export const DEFAULT_MAIL_FROM = 'Alfa Cloud <noreply@localhost>'

/** Builds the mailer, the letter records and the reminder scheduler from one config. */
export function createMailServices(deps: {
  prisma: PrismaClient
  clock: Clock
  logger: Logger
  secretBox: SecretBox
  config?: MailConfig | undefined
}) {
  const { prisma, clock, logger } = deps
  const config = deps.config ?? {}
  const timeZone = config.timeZone ?? DEFAULT_REMINDER_ZONE
  assertTimeZone(timeZone)
  const attemptTimeoutMs = config.attemptTimeoutMs ?? 30_000
  const retry = { ...DEFAULT_RETRY, ...config.retry }
  const from = config.from ?? DEFAULT_MAIL_FROM
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from,
    replyTo: config.replyTo,
    logger,
    timeoutMs: attemptTimeoutMs,
  })
  const delivery = createLetterDelivery({ prisma, clock, mailer, logger, retry })
  const letters = createCustomerLetters({
    prisma,
    clock,
    logger,
    secretBox: deps.secretBox,
    delivery,
    settings: {
      templatesDir: config.templatesDir ?? DEFAULT_TEMPLATES_DIR,
      timeZone,
      extendText: { ...defaultExtendText(from, config.replyTo), ...config.extendText },
    },
    ...(config.requestWaitMs !== undefined ? { requestWaitMs: config.requestWaitMs } : {}),
    // A minute of slack over the longest delivery, so a letter another replica is still retrying is not touched.
    staleAfterMs: longestDelivery(retry, attemptTimeoutMs) + 60_000,
  })
  const r = config.reminders ?? {}
  const reminders = createExpiryReminders({
    prisma,
    clock,
    letters,
    logger,
    timeZone,
    thresholdsDays: r.thresholdsDays,
    quietHours: r.quietHours,
    intervalMs: r.intervalMs,
  })
  const schedulerOn = r.enabled !== false && mailer.configured

  return {
    mailer,
    letters,
    reminders,
    start() {
      if (schedulerOn) reminders.start()
      else
        logger
          .child({ component: 'expiry-reminders' })
          .warn(
            mailer.configured
              ? 'expiry reminders are turned off'
              : 'expiry reminders are off until ALFA_SMTP_URL is set',
          )
    },
    async stop() {
      await reminders.stop()
      await delivery.stop()
      mailer.close()
    },
  }
}

export type MailServices = ReturnType<typeof createMailServices>
