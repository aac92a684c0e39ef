/** A daily window (wall-clock time in a zone) in which no automatic letter goes out. */
export interface QuietHours {
  /** 'HH:MM', the first quiet minute. */
  start: string
  /** 'HH:MM', the first minute letters may go again; earlier than start when the window spans midnight. */
  end: string
  /** Zone of the wall clock; the reminders' zone when absent. */
  timeZone?: string
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/

function minutesOf(hhmm: string): number {
  const m = HHMM.exec(hhmm)
  if (!m) throw new Error(`quiet hours: ${JSON.stringify(hhmm)} is not HH:MM`)
  return Number(m[1]) * 60 + Number(m[2])
}

/** Parses ALFA_REMINDER_QUIET_HOURS ("22:00-08:00"); empty means none. */
export function parseQuietHours(value: string | undefined): QuietHours | undefined {
  if (!value?.trim()) return undefined
  const [start, end, extra] = value
    .trim()
    .split('-')
    .map((s) => s.trim())
  if (!start || !end || extra !== undefined) throw new Error(`quiet hours: ${JSON.stringify(value)} is not HH:MM-HH:MM`)
  minutesOf(start)
  minutesOf(end)
  return { start, end }
}

/** Whether `now` falls in the quiet window, read on the wall clock of the window's zone. */
export function isQuiet(quiet: QuietHours | undefined, now: Date, defaultZone: string): boolean {
  if (!quiet) return false
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: quiet.timeZone ?? defaultZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now)
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  const minute = part('hour') * 60 + part('minute')
  const start = minutesOf(quiet.start)
  const end = minutesOf(quiet.end)
  if (start === end) return false
  return start < end ? minute >= start && minute < end : minute >= start || minute < end
}
