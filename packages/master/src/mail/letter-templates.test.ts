import { describe, expect, it } from 'vitest'
import { daysBetween, formatDate, relativeDays, todayIn } from './calendar.ts'
import { backoffDelay } from './letter-delivery.ts'
import {
  DEFAULT_TEMPLATES_DIR,
  escapeHtml,
  LETTER_KINDS,
  LETTER_LANGUAGES,
  renderLetter,
  renderTemplate,
  TemplateError,
} from './letter-templates.ts'
import { classifySmtpError } from './mailer.ts'

describe('letter templates', () => {
  it('substitutes placeholders, escaping for HTML, and refuses unknown ones', () => {
    expect(renderTemplate('<b>{{ name }}</b>', { name: '<i>&"' }, escapeHtml, 't')).toBe('<b>&lt;i&gt;&amp;&quot;</b>')
    expect(() => renderTemplate('{{nmae}}', { name: 'x' }, escapeHtml, 't.html')).toThrow(TemplateError)
  })
  it('ships every kind in every language, each rendering with the values the master provides', async () => {
    const values = {
      clientName: 'Lab',
      domain: 'lab.example.com',
      url: 'https://lab.example.com/',
      login: 'owner',
      password: 'pw',
      expireDate: '1 May',
      daysLeft: '3',
      whenText: 'in 3 days',
      extendText: 'call us',
    }
    for (const lang of LETTER_LANGUAGES) {
      for (const kind of LETTER_KINDS) {
        const letter = await renderLetter(DEFAULT_TEMPLATES_DIR, lang, kind, values)
        expect(letter.subject).not.toMatch(/\n|\{\{/)
        expect(letter.text).toContain('lab.example.com')
        expect(letter.html).toContain('<html')
      }
    }
  })
})

describe('calendar', () => {
  it("counts days in the customers' zone", () => {
    // 22:30 UTC on the 9th is already the 10th in Moscow.
    expect(todayIn('Europe/Moscow', new Date('2027-03-09T22:30:00Z'))).toBe('2027-03-10')
    expect(daysBetween('2027-03-10', '2027-03-24')).toBe(14)
    expect(daysBetween('2027-03-30', '2027-03-29')).toBe(-1)
    expect(formatDate(new Date('2027-12-31T00:00:00Z'), 'ru')).toBe('31 декабря 2027 г.')
    expect(formatDate(new Date('2027-12-31T00:00:00Z'), 'en')).toBe('31 December 2027')
    expect(relativeDays(5, 'ru')).toBe('через 5 дней')
    expect(relativeDays(0, 'en')).toBe('today')
  })
})

describe('SMTP failures', () => {
  it('retries 4xx and dropped connections, not 5xx or bad envelopes', () => {
    expect(classifySmtpError({ code: 'EENVELOPE', responseCode: 421, message: 'busy' }).transient).toBe(true)
    expect(classifySmtpError({ code: 'EENVELOPE', responseCode: 550, message: 'no mailbox' }).transient).toBe(false)
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'closed' }).transient).toBe(true)
    expect(classifySmtpError({ code: 'EENVELOPE', message: 'no recipients' }).transient).toBe(false)
    expect(classifySmtpError(new Error('x')).error).toBe('x')
  })
  it('backs off exponentially up to the cap', () => {
    const p = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 5000 }
    expect([1, 2, 3, 4].map((n) => backoffDelay(p, n, () => 1))).toEqual([1000, 2000, 4000, 5000])
    expect(backoffDelay(p, 1, () => 0)).toBe(500)
  })
})
