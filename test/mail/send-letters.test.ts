import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseFixture } from '../support/database-fixture.ts'
import {
  createClientRow,
  logSink,
  manualClock,
  openMaster,
  sharedDatabase,
  startSmtp,
  TEST_RETRY,
  type TestMaster,
  type TestSmtp,
} from './mail-harness.ts'

const PASSWORD = 'Owner-Pa$$word-<42>&'

describe('send_success and send_expire', () => {
  let smtp: TestSmtp
  let fixture: DatabaseFixture
  let m: TestMaster
  const log = logSink()
  // Noon in Moscow: "today" there is 2027-03-10.
  const clock = manualClock('2027-03-10T09:00:00Z')

  beforeAll(async () => {
    smtp = await startSmtp()
    fixture = await sharedDatabase()
    m = await openMaster({
      fixture,
      clock,
      log,
      mail: {
        smtpUrl: smtp.url,
        from: 'Alfa Cloud <noreply@alfa.example>',
        replyTo: 'support@alfa.example',
        retry: TEST_RETRY,
        extendText: { en: 'write to billing@alfa.example.' },
      },
    })
  })
  afterAll(async () => {
    await m?.close()
    await fixture?.dispose()
    await smtp?.close()
  })

  it('mails the owner the https URL, login and password in Russian by default, with text and HTML parts', async () => {
    const client = await createClientRow(m, { password: PASSWORD, tls: true })
    const res = await m.api('GET', `/clients/${client.id}/send_success`)
    expect(res.status).toBe(200)
    expect(res.json.data).toMatchObject({
      type: 'emails',
      attributes: {
        kind: 'success',
        status: 'sent',
        attempts: 1,
        recipient: client.ownerEmail,
        language: 'ru',
        lastError: null,
      },
    })
    expect(res.json.data.attributes.messageId).toMatch(/@/)

    const letter = smtp.letters.find((l) => l.messageId === res.json.data.attributes.messageId)!
    expect(letter).toBeDefined()
    expect(letter.to).toMatchObject({ text: client.ownerEmail })
    expect(letter.from?.text).toContain('noreply@alfa.example')
    expect(letter.replyTo?.text).toContain('support@alfa.example')
    expect(letter.subject).toBe(`Ваше облако Alfa Cloud готово: ${client.domain}`)
    const url = `https://${client.domain}/`
    expect(letter.text).toContain(`Адрес: ${url}`)
    expect(letter.text).toContain(`Логин администратора: ${client.ownerLogin}`)
    expect(letter.text).toContain(`Пароль: ${PASSWORD}`)
    expect(letter.html).toContain(`href="${url}"`)
    // The HTML part escapes what it substitutes: the password's < > & arrive as entities, readable as the password.
    expect(letter.html).toContain('Owner-Pa$$word-&lt;42&gt;&amp;')
    expect(letter.html).toContain('Лаборатория')
  })

  it('writes in English for an English client, with http when the server has no TLS', async () => {
    const client = await createClientRow(m, { password: PASSWORD, tls: false, language: 'en' })
    const res = await m.api('POST', `/clients/${client.id}/send_success`)
    expect(res.status).toBe(200)
    expect(res.json.data.attributes).toMatchObject({ status: 'sent', language: 'en' })
    const letter = smtp.letters.find((l) => l.messageId === res.json.data.attributes.messageId)!
    expect(letter.subject).toBe(`Your Alfa Cloud system is ready: ${client.domain}`)
    expect(letter.text).toContain(`Address: http://${client.domain}/`)
    expect(letter.text).toContain(`Administrator login: ${client.ownerLogin}`)
    expect(letter.text).toContain(`Password: ${PASSWORD}`)
    expect(letter.html).toContain(`href="http://${client.domain}/"`)
  })

  it('mails the expire date and how to extend to the contact address, per language', async () => {
    const ru = await createClientRow(m, { expireDate: '2027-03-17', contactEmail: 'billing@lab.example.com' })
    const resRu = await m.api('GET', `/clients/${ru.id}/send_expire`)
    expect(resRu.status).toBe(200)
    expect(resRu.json.data.attributes).toMatchObject({
      kind: 'expire',
      status: 'sent',
      recipient: 'billing@lab.example.com',
      expireDate: '2027-03-17',
      language: 'ru',
    })
    const letterRu = smtp.letters.find((l) => l.messageId === resRu.json.data.attributes.messageId)!
    expect(letterRu.subject).toBe(`Срок действия облака ${ru.domain}: до 17 марта 2027 г.`)
    expect(letterRu.text).toContain('через 7 дней')
    expect(letterRu.text).toContain('Как продлить: ответьте на это письмо')
    expect(letterRu.html).toContain('<strong>17 марта 2027 г.</strong>')

    const en = await createClientRow(m, { expireDate: '2027-03-11', language: 'en' })
    const resEn = await m.api('POST', `/clients/${en.id}/send_expire`)
    const letterEn = smtp.letters.find((l) => l.messageId === resEn.json.data.attributes.messageId)!
    expect(letterEn.to).toMatchObject({ text: en.ownerEmail })
    expect(letterEn.subject).toBe(`Your cloud system ${en.domain} is paid until 11 March 2027`)
    expect(letterEn.text).toContain('that is tomorrow')
    expect(letterEn.text).toContain('How to extend: write to billing@alfa.example.')
    expect(letterEn.html).toContain('How to extend: write to billing@alfa.example.')
  })

  it('answers 409 without a password or an expire date, and 404 for unknown and deleted clients', async () => {
    const bare = await createClientRow(m)
    const noPassword = await m.api('GET', `/clients/${bare.id}/send_success`)
    expect(noPassword.status).toBe(409)
    expect(noPassword.json.errors[0]).toMatchObject({ status: '409', code: 'no_password' })
    const noDate = await m.api('POST', `/clients/${bare.id}/send_expire`)
    expect(noDate.status).toBe(409)
    expect(noDate.json.errors[0]).toMatchObject({ code: 'no_expire_date' })

    expect((await m.api('GET', '/clients/00000000-0000-4000-8000-000000000000/send_success')).status).toBe(404)
    expect((await m.api('GET', '/clients/not-a-uuid/send_expire')).status).toBe(400)
    const gone = await createClientRow(m, { password: PASSWORD, expireDate: '2027-04-01' })
    await m.prisma.client.update({ where: { id: gone.id }, data: { status: 'deleted', deletedAt: clock.now() } })
    expect((await m.api('GET', `/clients/${gone.id}/send_success`)).status).toBe(404)
    expect((await m.api('GET', `/clients/${gone.id}/emails`)).status).toBe(404)
    // Refusals write no letter.
    expect(await m.prisma.emailLog.count({ where: { clientId: { in: [bare.id, gone.id] } } })).toBe(0)
  })

  it("lists a client's letters newest first, paginated, without bodies", async () => {
    const client = await createClientRow(m, { password: PASSWORD, expireDate: '2027-05-01' })
    const kinds: string[] = []
    for (const [i, path] of ['send_success', 'send_expire', 'send_success'].entries()) {
      clock.set(`2027-03-10T09:0${i + 1}:00Z`)
      const res = await m.api('POST', `/clients/${client.id}/${path}`)
      kinds.unshift(res.json.data.attributes.kind)
    }
    const all = await m.api('GET', `/clients/${client.id}/emails`)
    expect(all.status).toBe(200)
    expect(all.json.meta.total).toBe(3)
    expect(all.json.data.map((d: { attributes: { kind: string } }) => d.attributes.kind)).toEqual(kinds)
    const page2 = await m.api('GET', `/clients/${client.id}/emails?page[size]=2&page[number]=2`)
    expect(page2.json.data).toHaveLength(1)
    expect(page2.json.data[0].attributes.kind).toBe('success')
    expect(page2.json.links.prev).toContain('page%5Bnumber%5D=1')
    const oldest = await m.api('GET', `/clients/${client.id}/emails?sort=createdAt`)
    expect(oldest.json.data.map((d: { attributes: { kind: string } }) => d.attributes.kind)).toEqual(
      [...kinds].reverse(),
    )
    expect((await m.api('GET', `/clients/${client.id}/emails?page[size]=0`)).status).toBe(400)
    expect((await m.api('GET', `/clients/${client.id}/emails?sort=recipient`)).status).toBe(400)
    expect((await m.api('GET', `/clients/${client.id}/emails?bogus=1`)).status).toBe(400)
    expect(all.text).not.toContain(PASSWORD)
  })

  it('never puts the password in a log line or an API response', async () => {
    const client = await createClientRow(m, { password: PASSWORD })
    const sent = await m.api('GET', `/clients/${client.id}/send_success`)
    const listed = await m.api('GET', `/clients/${client.id}/emails`)
    expect(sent.json.data.attributes.status).toBe('sent')
    for (const body of [sent.text, listed.text]) expect(body).not.toContain('Owner-Pa$$word')
    expect(log.lines.length).toBeGreaterThan(0)
    expect(log.lines.some((l) => l.includes('"letter sent"'))).toBe(true)
    expect(log.lines.filter((l) => l.includes('Owner-Pa$$word'))).toEqual([])
    // Nor the SMTP password from the URL, nor a letter body.
    expect(log.lines.filter((l) => l.includes('S3cret-Smtp') || l.includes('Логин администратора'))).toEqual([])
  })
})
