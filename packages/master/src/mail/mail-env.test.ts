import { describe, expect, it } from 'vitest'
import { readMailConfig } from './mail-env.ts'

describe('readMailConfig', () => {
  it('reads the variables and names the one that is wrong', () => {
    const cfg = readMailConfig({
      ALFA_SMTP_URL: 'smtp://u:p@mail:25',
      ALFA_REMINDER_DAYS: '30,7',
      ALFA_REMINDER_QUIET_HOURS: '21:30-09:00',
      ALFA_MAIL_EXTEND_TEXT: 'звоните',
      ALFA_MAIL_RETRY_ATTEMPTS: '3',
    })
    expect(cfg).toMatchObject({
      smtpUrl: 'smtp://u:p@mail:25',
      extendText: { ru: 'звоните', en: 'звоните' },
      retry: { attempts: 3 },
      reminders: { enabled: true, thresholdsDays: [30, 7], quietHours: { start: '21:30', end: '09:00' } },
    })
    expect(() => readMailConfig({ ALFA_SMTP_URL: 'http://x' })).toThrow(/ALFA_SMTP_URL/)
    expect(() => readMailConfig({ ALFA_TIMEZONE: 'Mars/Olympus' })).toThrow(/ALFA_TIMEZONE/)
    expect(() => readMailConfig({ ALFA_REMINDER_DAYS: 'soon' })).toThrow(/ALFA_REMINDER_DAYS/)
    expect(() => readMailConfig({ ALFA_REMINDER_INTERVAL_MS: '-1' })).toThrow(/ALFA_REMINDER_INTERVAL_MS/)
  })
})
