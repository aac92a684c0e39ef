import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { DatabaseFixture } from '../support/database-fixture.ts'
import {
  createClientRow,
  manualClock,
  openMaster,
  sharedDatabase,
  startSmtp,
  TEST_RETRY,
  type TestMaster,
  type TestSmtp,
} from './mail-harness.ts'

/** Wall-clock time in Moscow, where the reminders count their days. */
const msk = (date: string, time = '12:00') => `${date}T${time}:00+03:00`

/** The dates from `from` to `to` inclusive. */
function days(from: string, to: string): string[] {
  const out: string[] = []
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d = new Date(d.getTime() + 86_400_000))
    out.push(d.toISOString().slice(0, 10))
  return out
}

describe('expiry reminders', () => {
  let smtp: TestSmtp
  let fixture: DatabaseFixture
  let m: TestMaster
  const clock = manualClock(msk('2027-03-01'))
  const mail = () => ({ smtpUrl: smtp.url, retry: TEST_RETRY, reminders: { thresholdsDays: [14, 7, 1, 0] } })
  const restart = async () => {
    await m.close()
    m = await openMaster({ fixture, clock, mail: mail(), secretKey: m.secretKey })
  }
  const lettersTo = (address: string) =>
    smtp.letters.filter((l) => l.to && !Array.isArray(l.to) && l.to.text === address)
  const reminderRows = (clientId: string) =>
    m.prisma.emailLog.findMany({ where: { clientId, kind: 'reminder' }, orderBy: { createdAt: 'asc' } })

  beforeAll(async () => {
    smtp = await startSmtp()
  })
  afterAll(async () => {
    await smtp?.close()
  })
  beforeEach(async () => {
    smtp.mode = 'accept'
    fixture = await sharedDatabase()
    m = await openMaster({ fixture, clock, mail: mail() })
  })
  afterEach(async () => {
    await m?.close()
    await fixture?.dispose()
  })

  it('sends each threshold once as the days pass, across master restarts, and only to active clients', async () => {
    clock.set(msk('2027-03-01'))
    const ru = await createClientRow(m, { expireDate: '2027-03-20', contactEmail: 'accounts@lab.example.com' })
    const en = await createClientRow(m, { expireDate: '2027-03-25', language: 'en' })
    const failed = await createClientRow(m, { expireDate: '2027-03-20', status: 'failed' })
    const deleted = await createClientRow(m, { expireDate: '2027-03-20' })
    await m.prisma.client.update({ where: { id: deleted.id }, data: { status: 'deleted', deletedAt: new Date() } })
    await createClientRow(m, { expireDate: null })

    const sentOn: Record<string, string[]> = {}
    for (const [i, day] of days('2027-03-01', '2027-03-30').entries()) {
      if (i % 4 === 3) await restart()
      for (const time of ['09:00', '15:00', '20:00']) {
        clock.set(msk(day, time))
        const before = smtp.letters.length
        await m.services.mail.reminders.tick()
        for (const l of smtp.letters.slice(before))
          (sentOn[day] ??= []).push(`${l.to && !Array.isArray(l.to) ? l.to.text : '?'} ${l.subject}`)
      }
    }
    const ruLetters = lettersTo('accounts@lab.example.com')
    expect(ruLetters.map((l) => l.subject)).toEqual([
      `Напоминание: срок действия облака ${ru.domain} истекает через 14 дней`,
      `Напоминание: срок действия облака ${ru.domain} истекает через 7 дней`,
      `Напоминание: срок действия облака ${ru.domain} истекает завтра`,
      `Напоминание: срок действия облака ${ru.domain} истекает сегодня`,
    ])
    expect(
      Object.entries(sentOn)
        .filter(([, l]) => l.some((s) => s.startsWith('accounts@')))
        .map(([d]) => d),
    ).toEqual(['2027-03-06', '2027-03-13', '2027-03-19', '2027-03-20'])
    expect(
      ruLetters.every((l) => l.text?.includes('20 марта 2027 г.') && l.html && l.html.includes('20 марта 2027 г.')),
    ).toBe(true)
    // The default From is noreply@localhost with no Reply-To here: the letters do not ask for a reply nobody reads.
    expect(ruLetters.every((l) => l.text?.includes('Как продлить: свяжитесь с вашим менеджером'))).toBe(true)
    expect(smtp.letters.some((l) => /ответьте|reply to this/i.test(`${l.text}${l.html}`))).toBe(false)
    expect(lettersTo(en.ownerEmail).map((l) => l.subject)).toEqual(
      ['in 14 days', 'in 7 days', 'tomorrow', 'today'].map(
        (w) => `Reminder: your cloud system ${en.domain} expires ${w}`,
      ),
    )
    expect(lettersTo(failed.ownerEmail)).toEqual([])
    expect(lettersTo(deleted.ownerEmail)).toEqual([])
    expect(smtp.letters).toHaveLength(8)
    expect((await reminderRows(ru.id)).map((r) => [r.threshold, r.status, r.attempts])).toEqual([
      ['14d', 'sent', 1],
      ['7d', 'sent', 1],
      ['1d', 'sent', 1],
      ['0d', 'sent', 1],
    ])
  })

  it('sends only what is due when the clock jumps forward, nothing again when it jumps back, and re-arms for a new date', async () => {
    clock.set(msk('2027-03-01'))
    const c = await createClientRow(m, { expireDate: '2027-03-20' })
    await m.services.mail.reminders.tick()
    expect(lettersTo(c.ownerEmail)).toHaveLength(0)

    // Down for two weeks: one letter with the true count ("the day after tomorrow"), not the 14- and 7-day ones late.
    clock.set(msk('2027-03-18'))
    await m.services.mail.reminders.tick()
    await m.services.mail.reminders.tick()
    expect(lettersTo(c.ownerEmail).map((l) => l.subject)).toEqual([expect.stringContaining('истекает послезавтра')])
    expect((await reminderRows(c.id)).map((r) => r.threshold)).toEqual(['7d'])

    // Back to a day when the 14-day reminder would be due: nothing, since a more urgent one went out.
    clock.set(msk('2027-03-08'))
    await m.services.mail.reminders.tick()
    clock.set(msk('2027-03-18'))
    await m.services.mail.reminders.tick()
    expect(lettersTo(c.ownerEmail)).toHaveLength(1)

    clock.set(msk('2027-03-20'))
    await m.services.mail.reminders.tick()
    // Past the date: nothing more, even if the day-0 letter had been missed.
    clock.set(msk('2027-03-21'))
    await m.services.mail.reminders.tick()
    expect((await reminderRows(c.id)).map((r) => r.threshold)).toEqual(['7d', '0d'])

    // Extended: the new date arms every threshold again.
    await m.prisma.client.update({ where: { id: c.id }, data: { expireDate: new Date('2027-04-20T00:00:00Z') } })
    for (const day of days('2027-03-21', '2027-04-21')) {
      clock.set(msk(day))
      await m.services.mail.reminders.tick()
    }
    const rows = await reminderRows(c.id)
    expect(rows.map((r) => `${r.threshold} ${r.expireDate?.toISOString().slice(0, 10)}`)).toEqual([
      '7d 2027-03-20',
      '0d 2027-03-20',
      '14d 2027-04-20',
      '7d 2027-04-20',
      '1d 2027-04-20',
      '0d 2027-04-20',
    ])
    expect(lettersTo(c.ownerEmail)).toHaveLength(6)
  })

  it('two schedulers on one PostgreSQL send each reminder exactly once', async () => {
    const other = await openMaster({ fixture, clock, mail: mail(), secretKey: m.secretKey })
    try {
      clock.set(msk('2027-03-01'))
      const before = smtp.letters.length
      const clients = []
      let lost = 0
      for (let i = 0; i < 6; i++)
        clients.push(await createClientRow(m, { expireDate: `2027-03-${String(15 + i).padStart(2, '0')}` }))
      for (const day of days('2027-03-01', '2027-03-22')) {
        for (const time of ['10:00', '16:00']) {
          clock.set(msk(day, time))
          const reports = await Promise.all([m, other, m, other].map((x) => x.services.mail.reminders.tick()))
          lost += reports.reduce((n, r) => n + r.lost, 0)
        }
      }
      for (const c of clients) {
        expect(lettersTo(c.ownerEmail), c.domain).toHaveLength(4)
        expect((await reminderRows(c.id)).map((r) => r.threshold)).toEqual(['14d', '7d', '1d', '0d'])
      }
      expect(smtp.letters.length - before).toBe(24)
      // The instances really raced: some claims were lost to the other one's insert.
      expect(lost).toBeGreaterThan(0)
    } finally {
      await other.close()
    }
  })

  it('keeps quiet hours and starts sending when they end', async () => {
    await m.close()
    m = await openMaster({
      fixture,
      clock,
      mail: { ...mail(), reminders: { quietHours: { start: '22:00', end: '08:00' } } },
    })
    const c = await createClientRow(m, { expireDate: '2027-03-20' })
    for (const time of ['22:00', '23:59', '00:00', '07:59']) {
      clock.set(msk(time < '12:00' ? '2027-03-06' : '2027-03-05', time))
      expect(await m.services.mail.reminders.tick()).toMatchObject({ quiet: true })
    }
    expect(lettersTo(c.ownerEmail)).toHaveLength(0)
    clock.set(msk('2027-03-06', '08:00'))
    expect(await m.services.mail.reminders.tick()).toMatchObject({ quiet: false, sent: 1 })
    expect(lettersTo(c.ownerEmail)).toHaveLength(1)
  })

  it('records a reminder the SMTP server refuses as failed and does not send it again', async () => {
    const c = await createClientRow(m, { expireDate: '2027-03-20' })
    smtp.mode = 'busy-421'
    clock.set(msk('2027-03-13'))
    expect(await m.services.mail.reminders.tick()).toMatchObject({ failed: 1 })
    smtp.mode = 'accept'
    await m.services.mail.reminders.tick()
    expect(lettersTo(c.ownerEmail)).toHaveLength(0)
    expect((await reminderRows(c.id)).map((r) => [r.threshold, r.status, r.attempts])).toEqual([
      ['7d', 'failed', TEST_RETRY.attempts],
    ])
    expect(await m.prisma.client.findUniqueOrThrow({ where: { id: c.id } })).toEqual(c)
  })

  it('runs by itself once started, and stops', async () => {
    await m.close()
    m = await openMaster({ fixture, clock, mail: { ...mail(), reminders: { intervalMs: 20 } } })
    const c = await createClientRow(m, { expireDate: '2027-03-20' })
    clock.set(msk('2027-03-19'))
    await m.services.start()
    await expect.poll(() => lettersTo(c.ownerEmail).length, { timeout: 5_000 }).toBe(1)
    await m.services.mail.reminders.stop()
    clock.set(msk('2027-03-20'))
    await new Promise((r) => setTimeout(r, 100))
    expect(lettersTo(c.ownerEmail)).toHaveLength(1)
  })
})
