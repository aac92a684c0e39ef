import { z } from 'zod'
import { matches, ruledString } from './string-rules.ts'

/**
 * An id: lower-case canonical RFC 9562 form only, because ids are compared as strings (the agent's journal, maps of
 * sockets) and "ABC…" and "abc…" must not pass as two different commands.
 */
export const uuidSchema = ruledString(36, [
  matches(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'an id is a lower-case UUID such as 0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
  ),
])

/** A TCP port: 0 is not a port one can connect to, so it is refused rather than meaning "any". */
export const portSchema = z.int().min(1).max(65535)

function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.split('-').map(Number)
  if (year === undefined || month === undefined || day === undefined) return false
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** A calendar date `YYYY-MM-DD` that exists (no 2025-02-30), because it lands in a SQL DATE column. */
export const isoDateSchema = ruledString(10, [
  matches(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'a date is written YYYY-MM-DD'),
  [isCalendarDate, 'not a calendar date'],
])
