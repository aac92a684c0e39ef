import { parseQuietHours } from '../reminders/quiet-hours.ts'
import { parseThresholds } from '../reminders/reminder-plan.ts'
import { assertTimeZone } from './calendar.ts'
import type { MailConfig } from './mail-services.ts'

/**
 * Reads the customer-mail variables (README.md, "Configuration"). A bad value stops the start naming the variable,
 * rather than surfacing at the first letter or reminder; the SMTP URL is never echoed (it holds a password).
 */
export function readMailConfig(env: NodeJS.ProcessEnv = process.env): MailConfig {
  const fail = (name: string, why: string): never => {
    throw new Error(`invalid configuration:\n  ${name}: ${why}`)
  }
  const str = (name: string) => env[name]?.trim() || undefined
  const num = (name: string) => {
    const v = str(name)
    if (v === undefined) return undefined
    const n = Number(v)
    return Number.isInteger(n) && n >= 0 ? n : fail(name, 'must be a whole number of milliseconds (or attempts)')
  }
  const parsed = <T>(name: string, parse: (v: string | undefined) => T): T => {
    try {
      return parse(str(name))
    } catch (err) {
      return fail(name, (err as Error).message)
    }
  }

  const smtpUrl = str('ALFA_SMTP_URL')
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/]+/.test(smtpUrl))
    fail('ALFA_SMTP_URL', 'must look like smtp://user:pass@host:port or smtps://…')
  const timeZone = str('ALFA_TIMEZONE')
  if (timeZone) parsed('ALFA_TIMEZONE', () => assertTimeZone(timeZone))
  const extendRu = str('ALFA_MAIL_EXTEND_TEXT')
  const extendEn = str('ALFA_MAIL_EXTEND_TEXT_EN') ?? extendRu
  const retry = {
    attempts: num('ALFA_MAIL_RETRY_ATTEMPTS'),
    baseDelayMs: num('ALFA_MAIL_RETRY_BASE_MS'),
    maxDelayMs: num('ALFA_MAIL_RETRY_MAX_MS'),
  }
  if (retry.attempts === 0) fail('ALFA_MAIL_RETRY_ATTEMPTS', 'must be at least 1')

  return {
    smtpUrl,
    from: str('ALFA_MAIL_FROM'),
    replyTo: str('ALFA_MAIL_REPLY_TO'),
    templatesDir: str('ALFA_MAIL_TEMPLATES_DIR'),
    extendText: { ...(extendRu ? { ru: extendRu } : {}), ...(extendEn ? { en: extendEn } : {}) },
    timeZone,
    retry: Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined)),
    reminders: {
      enabled: str('ALFA_REMINDERS') !== 'off',
      thresholdsDays: parsed('ALFA_REMINDER_DAYS', parseThresholds),
      quietHours: parsed('ALFA_REMINDER_QUIET_HOURS', parseQuietHours),
      intervalMs: num('ALFA_REMINDER_INTERVAL_MS') || undefined,
    },
  }
}
