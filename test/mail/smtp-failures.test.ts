import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

/** A port nothing listens on: connection refused. */
async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

describe('letters when SMTP misbehaves', () => {
  let smtp: TestSmtp
  let fixture: DatabaseFixture
  let m: TestMaster
  const clock = manualClock('2027-03-10T09:00:00Z')

  beforeAll(async () => {
    smtp = await startSmtp()
    fixture = await sharedDatabase()
    m = await openMaster({ fixture, clock, mail: { smtpUrl: smtp.url, retry: TEST_RETRY, attemptTimeoutMs: 2_000 } })
  })
  afterAll(async () => {
    await m?.close()
    await fixture?.dispose()
    await smtp?.close()
  })

  /** Sends, and checks the client row and its operations did not move. */
  async function sendUnharmed(path: string) {
    const client = await createClientRow(m, { password: 'pw-1', expireDate: '2027-04-01' })
    const opsBefore = await m.prisma.operation.count({ where: { clientId: client.id } })
    const before = smtp.connections
    const res = await m.api('GET', `/clients/${client.id}/${path}`)
    expect(await m.prisma.client.findUniqueOrThrow({ where: { id: client.id } })).toEqual(client)
    expect(await m.prisma.operation.count({ where: { clientId: client.id } })).toBe(opsBefore)
    return { res, attemptsSeen: smtp.connections - before, client }
  }

  it('retries a server that answers 421, then answers 200 with the failed record', async () => {
    smtp.mode = 'busy-421'
    const { res, attemptsSeen } = await sendUnharmed('send_success')
    expect(res.status).toBe(200)
    expect(res.json.data.attributes).toMatchObject({
      status: 'failed',
      attempts: TEST_RETRY.attempts,
      sentAt: null,
      messageId: null,
    })
    expect(res.json.data.attributes.lastError).toMatch(/421/)
    expect(attemptsSeen).toBe(TEST_RETRY.attempts)
  })

  it('retries a server that drops the connection', async () => {
    smtp.mode = 'drop'
    const { res, attemptsSeen } = await sendUnharmed('send_expire')
    expect(res.status).toBe(200)
    expect(res.json.data.attributes).toMatchObject({ status: 'failed', attempts: TEST_RETRY.attempts })
    expect(res.json.data.attributes.lastError).toMatch(/ECONNECTION|ESOCKET|closed/i)
    expect(attemptsSeen).toBe(TEST_RETRY.attempts)
  })

  it('does not retry a permanent 550 refusal', async () => {
    smtp.mode = 'reject-550'
    const { res, attemptsSeen } = await sendUnharmed('send_success')
    expect(res.json.data.attributes).toMatchObject({ status: 'failed', attempts: 1 })
    expect(res.json.data.attributes.lastError).toMatch(/550/)
    expect(attemptsSeen).toBe(1)
  })

  it('sends on a later attempt when the failure passes, and the list shows each outcome', async () => {
    smtp.mode = 'busy-421'
    smtp.failTimes = 1
    const before = smtp.letters.length
    const { res, client } = await sendUnharmed('send_success')
    expect(res.json.data.attributes).toMatchObject({ status: 'sent', attempts: 2, lastError: null })
    expect(smtp.letters.length).toBe(before + 1)
    smtp.mode = 'reject-550'
    // The test clock stands still: move it so "newest first" has a newest (equal times would order by random id).
    clock.set(new Date(clock.now().getTime() + 60_000).toISOString())
    await m.api('POST', `/clients/${client.id}/send_expire`)
    smtp.mode = 'accept'
    const list = await m.api('GET', `/clients/${client.id}/emails`)
    expect(list.json.data.map((d: { attributes: { status: string } }) => d.attributes.status)).toEqual([
      'failed',
      'sent',
    ])
  })

  it('records a failed letter when the SMTP port refuses connections, and when SMTP is not configured', async () => {
    const refusing = await openMaster({
      fixture,
      clock,
      mail: { smtpUrl: `smtp://127.0.0.1:${await closedPort()}`, retry: TEST_RETRY },
    })
    // Same key: the second master must be able to open the password the first one sealed.
    const unconfigured = await openMaster({ fixture, clock, mail: {}, secretKey: refusing.secretKey })
    try {
      const client = await createClientRow(refusing, { password: 'pw-2' })
      const a = await refusing.api('GET', `/clients/${client.id}/send_success`)
      expect(a.status).toBe(200)
      expect(a.json.data.attributes).toMatchObject({ status: 'failed', attempts: TEST_RETRY.attempts })
      expect(a.json.data.attributes.lastError).toMatch(/ECONNREFUSED|ECONNECTION/)

      const b = await unconfigured.api('GET', `/clients/${client.id}/send_success`)
      expect(b.status).toBe(200)
      expect(b.json.data.attributes).toMatchObject({
        status: 'failed',
        attempts: 1,
        lastError: expect.stringContaining('SMTP not configured'),
      })
    } finally {
      await refusing.close()
      await unconfigured.close()
    }
  })

  it('ends letters a stopped master left behind as failed, and leaves recent ones alone', async () => {
    const client = await createClientRow(m)
    const old = await m.prisma.emailLog.create({
      data: {
        clientId: client.id,
        kind: 'expire',
        recipient: 'x@example.com',
        subject: 's',
        language: 'ru',
        status: 'sending',
        createdAt: new Date('2027-03-09T09:00:00Z'),
      },
    })
    const recent = await m.prisma.emailLog.create({
      data: {
        clientId: client.id,
        kind: 'expire',
        recipient: 'x@example.com',
        subject: 's',
        language: 'ru',
        status: 'queued',
        createdAt: clock.now(),
      },
    })
    expect(await m.services.mail.letters.failAbandoned()).toBe(1)
    expect(await m.prisma.emailLog.findUniqueOrThrow({ where: { id: old.id } })).toMatchObject({
      status: 'failed',
      lastError: expect.stringContaining('abandoned'),
    })
    expect(await m.prisma.emailLog.findUniqueOrThrow({ where: { id: recent.id } })).toMatchObject({ status: 'queued' })
  })
})
