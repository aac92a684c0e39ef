import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { Conflict, NotFound } from '../errors.ts'
import type { EmailLog, PrismaClient } from '../generated/prisma/client.ts'
import type { Page } from '../http/jsonapi.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import {
  composeLetter,
  recipientOf,
  type ComposedLetter,
  type LetterClient,
  type LetterSettings,
} from './letter-content.ts'
import type { LetterDelivery } from './letter-delivery.ts'
import { letterLanguage, type LetterKind } from './letter-templates.ts'

export interface CustomerLettersDeps {
  prisma: PrismaClient
  clock: Clock
  logger: Logger
  secretBox: SecretBox
  delivery: LetterDelivery
  settings: LetterSettings
  /** How long a request waits for its letter (first attempt and retries) before answering with the row as it is. */
  requestWaitMs?: number
  /** A letter still queued/sending this long after it was created was abandoned by a stopped master. */
  staleAfterMs: number
}

/**
 * The letters a customer gets: send_success and send_expire on request, the reminders for the scheduler, and the
 * history. A letter that cannot be built or sent ends as a failed row, never as an error of the request.
 */
export function createCustomerLetters(deps: CustomerLettersDeps) {
  const { prisma, clock, delivery, settings } = deps
  const log = deps.logger.child({ component: 'letters' })
  const requestWaitMs = deps.requestWaitMs ?? 20_000

  async function liveClient(id: string): Promise<LetterClient> {
    const client = await prisma.client.findUnique({
      where: { id },
      include: { server: { select: { tlsEnabled: true, sitesPort: true } } },
    })
    if (!client || client.deletedAt || client.status === 'deleted') throw new NotFound('client', id)
    return client
  }

  /** The row for a letter that could not even be built (a template typo, an unreadable password). */
  function failedRow(client: LetterClient, kind: LetterKind, error: string): Promise<EmailLog> {
    log.error({ clientId: client.id, kind, error }, 'letter could not be built')
    return prisma.emailLog.create({
      data: {
        clientId: client.id,
        kind,
        recipient: recipientOf(client, kind),
        subject: `(${kind})`,
        language: letterLanguage(client.language),
        status: 'failed',
        lastError: error,
        expireDate: kind === 'success' ? null : client.expireDate,
        createdAt: clock.now(),
      },
    })
  }

  /** Records and sends a letter; waits up to requestWaitMs, then answers with the row while retries go on. */
  async function sendNow(client: LetterClient, letter: ComposedLetter): Promise<EmailLog> {
    const row = await prisma.emailLog.create({
      data: {
        clientId: client.id,
        kind: letter.kind,
        recipient: letter.recipient,
        subject: letter.subject,
        language: letter.language,
        expireDate: letter.kind === 'success' ? null : client.expireDate,
        createdAt: clock.now(),
      },
    })
    const done = delivery.deliver(row, {
      to: letter.recipient,
      subject: letter.subject,
      text: letter.text,
      html: letter.html,
    })
    let timer: NodeJS.Timeout | undefined
    const waited = await Promise.race([
      done.then(
        (r) => r,
        (err: unknown) => {
          log.error({ emailId: row.id, err }, 'recording a letter failed')
          return undefined
        },
      ),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), requestWaitMs)
      }),
    ])
    clearTimeout(timer)
    return waited ?? (await prisma.emailLog.findUniqueOrThrow({ where: { id: row.id } }))
  }

  async function build(client: LetterClient, kind: LetterKind, password?: string): Promise<ComposedLetter | string> {
    try {
      return await composeLetter(settings, client, kind, {
        now: clock.now(),
        ...(password !== undefined ? { password } : {}),
      })
    } catch (err) {
      return err instanceof Error ? err.message : String(err)
    }
  }

  return {
    /** The welcome letter with the cloud's URL and the owner's credentials (the password decrypted for it alone). */
    async sendSuccess(clientId: string): Promise<EmailLog> {
      const client = await liveClient(clientId)
      if (!client.ownerPasswordEnc) throw new Conflict(`client ${clientId} has no stored owner password`, 'no_password')
      let password: string
      try {
        password = deps.secretBox.open(client.ownerPasswordEnc)
      } catch {
        return failedRow(
          client,
          'success',
          'the stored owner password cannot be decrypted (was ALFA_SECRET_KEY changed?)',
        )
      }
      const letter = await build(client, 'success', password)
      return typeof letter === 'string' ? failedRow(client, 'success', letter) : sendNow(client, letter)
    },

    /** The letter with the expire date and how to extend. */
    async sendExpire(clientId: string): Promise<EmailLog> {
      const client = await liveClient(clientId)
      if (!client.expireDate) throw new Conflict(`client ${clientId} has no expire date`, 'no_expire_date')
      const letter = await build(client, 'expire')
      return typeof letter === 'string' ? failedRow(client, 'expire', letter) : sendNow(client, letter)
    },

    /** Renders a reminder for the scheduler, which claims its row before sending. */
    composeReminder(client: LetterClient): Promise<ComposedLetter> {
      return composeLetter(settings, client, 'reminder', { now: clock.now() })
    },

    /** Sends a letter whose row the caller has written (the scheduler's claimed reminder); resolves with the final row. */
    deliver(row: EmailLog, letter: ComposedLetter): Promise<EmailLog> {
      return delivery.deliver(row, {
        to: letter.recipient,
        subject: letter.subject,
        text: letter.text,
        html: letter.html,
      })
    },

    /** A client's letters, newest first unless `oldestFirst` (404 for an unknown or deleted client). */
    async list(clientId: string, page: Page, oldestFirst = false): Promise<{ rows: EmailLog[]; total: number }> {
      await liveClient(clientId)
      const where = { clientId }
      const [rows, total] = await Promise.all([
        prisma.emailLog.findMany({
          where,
          orderBy: oldestFirst ? [{ createdAt: 'asc' }, { id: 'asc' }] : [{ createdAt: 'desc' }, { id: 'desc' }],
          skip: (page.number - 1) * page.size,
          take: page.size,
        }),
        prisma.emailLog.count({ where }),
      ])
      return { rows, total }
    },

    /**
     * Ends letters a stopped master left queued or sending (every letter ends in a final state). Only rows older
     * than the longest possible delivery, so a letter another replica is still retrying is left alone.
     */
    async failAbandoned(): Promise<number> {
      const { count } = await prisma.emailLog.updateMany({
        where: {
          status: { in: ['queued', 'sending'] },
          createdAt: { lt: new Date(clock.now().getTime() - deps.staleAfterMs) },
        },
        data: { status: 'failed', lastError: 'abandoned: the master stopped before the letter was sent' },
      })
      if (count > 0) log.warn({ count }, 'abandoned letters marked failed')
      return count
    },
  }
}

export type CustomerLetters = ReturnType<typeof createCustomerLetters>
