/**
 * Calendar days (YYYY-MM-DD, the API's and the seed's expire dates) and how they are stored: as midnight UTC of that
 * day (PostgreSQL `date`). The one place that turns a day into a Date, so no caller parses `T00:00:00Z` itself.
 */
export function dayStart(day: string): Date {
  return new Date(`${day}T00:00:00Z`)
}

/** A nullable day from the API: undefined stays "not given", null clears. */
export function optionalDay(day: string | null | undefined): Date | null | undefined {
  return day ? dayStart(day) : day === null ? null : undefined
}
