import { isoDate, todayIn } from '../mail/calendar.ts'

/** Which calendar day it is for the customers: expiry happens at midnight in their time zone, not the server's. */
export interface ExpiryCalendar {
  timeZone: string
}

/** Today's date (YYYY-MM-DD) in the calendar's time zone. */
export function today(now: Date, calendar: ExpiryCalendar): string {
  return todayIn(calendar.timeZone, now)
}

/** The expire date is the last day of use: the system is blocked from the next day on. */
export function isExpired(expireDate: Date | null, now: Date, calendar: ExpiryCalendar): boolean {
  return expireDate !== null && isoDate(expireDate) < today(now, calendar)
}
