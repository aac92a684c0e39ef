import { dayStart } from '../calendar-day.ts'
import type { LetterLanguage } from './letter-templates.ts'

/**
 * Calendar arithmetic for expire dates. An expire date is a calendar day (a PostgreSQL DATE, read by Prisma as UTC
 * midnight), so "days left" compares it with today's date where the customers live, not with a UTC instant.
 */

const DAY_MS = 86_400_000

/** Fails at start-up on a misspelt zone name rather than at the first letter. */
export function assertTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en', { timeZone })
}

/** Today's date (YYYY-MM-DD) in the given time zone at instant `now`. */
export function todayIn(timeZone: string, now: Date): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now)
}

/** A DATE column's value as YYYY-MM-DD. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10)
}

/** Whole days from `from` to `to` (both YYYY-MM-DD); negative when `to` is past. */
export function daysBetween(from: string, to: string): number {
  return Math.round((dayStart(to).getTime() - dayStart(from).getTime()) / DAY_MS)
}

/** "31 декабря 2026 г." / "December 31, 2026". */
export function formatDate(date: Date, language: LetterLanguage): string {
  return new Intl.DateTimeFormat(language === 'ru' ? 'ru-RU' : 'en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(date)
}

/** "через 7 дней" / "завтра" / "сегодня" / "3 дня назад" (and the English), with the language's plural rules. */
export function relativeDays(days: number, language: LetterLanguage): string {
  return new Intl.RelativeTimeFormat(language, { numeric: 'auto' }).format(days, 'day')
}
