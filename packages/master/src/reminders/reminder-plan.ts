/**
 * Which reminder is due, as a pure function of the calendar and the rows already written.
 *
 * The choice: only the most urgent threshold whose day has come is sent, and never one less urgent than a reminder
 * already written for the same expire date. So a master that was down for a week (or a clock that jumps forward)
 * sends one letter saying how many days are really left, not a flood of stale "14 days left" letters; a clock
 * that jumps back finds the rows and sends nothing again. Thresholds passed over are not written as rows (the
 * EmailLog statuses are queued/sending/sent/failed only): the rule above already keeps them from being sent late.
 * After the expire date has passed no reminder goes out: the day-0 letter missed entirely stays unsent rather
 * than arriving to say "today" when it is not.
 */
export function dueThreshold(
  daysLeft: number,
  thresholds: readonly number[],
  written: readonly number[],
): number | undefined {
  if (daysLeft < 0) return undefined
  const reached = thresholds.filter((t) => t >= daysLeft)
  if (reached.length === 0) return undefined
  const mostUrgent = Math.min(...reached)
  if (written.some((w) => w <= mostUrgent)) return undefined
  return mostUrgent
}

/** The EmailLog.threshold label of a threshold in days ("7d"). */
export const thresholdLabel = (days: number) => `${days}d`

/** The days of a label; undefined for anything else (rows written by hand or by other versions). */
export function thresholdDays(label: string | null): number | undefined {
  const m = label ? /^(\d{1,4})d$/.exec(label) : null
  return m ? Number(m[1]) : undefined
}

/** Parses ALFA_REMINDER_DAYS ("14,7,1,0"): distinct whole days, most distant first. */
export function parseThresholds(value: string | undefined): number[] | undefined {
  if (!value?.trim()) return undefined
  const days = value.split(',').map((s) => s.trim())
  if (days.some((d) => !/^\d{1,4}$/.test(d)))
    throw new Error(`reminder days: ${JSON.stringify(value)} is not a list of whole days like 14,7,1,0`)
  return [...new Set(days.map(Number))].sort((a, b) => b - a)
}
