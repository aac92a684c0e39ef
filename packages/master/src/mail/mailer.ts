import nodemailer from 'nodemailer'
import type { Logger } from 'pino'

/** One outgoing letter, already rendered. */
export interface OutgoingLetter {
  to: string
  subject: string
  text: string
  html: string
}

/** What one SMTP attempt came to; a mailer never throws. */
export type DeliveryAttempt =
  | { ok: true; messageId: string }
  /** transient: worth retrying (connection refused or dropped, timeout, a 4xx reply); otherwise final (5xx, bad config). */
  | { ok: false; transient: boolean; error: string }

export interface Mailer {
  /** False without ALFA_SMTP_URL: every attempt fails at once with "SMTP not configured". */
  readonly configured: boolean
  send(letter: OutgoingLetter): Promise<DeliveryAttempt>
  close(): void
}

export interface MailerOptions {
  /** `smtp://user:pass@host:port` or `smtps://…`; absent → letters are recorded as failed, nothing crashes. */
  smtpUrl?: string | undefined
  /** The From header, e.g. `Alfa Cloud <noreply@example.com>`. */
  from: string
  replyTo?: string | undefined
  logger: Logger
  /** Bounds connecting, the greeting and socket silence, so an attempt (and the request awaiting it) cannot hang. */
  timeoutMs?: number
}

export const NOT_CONFIGURED = 'SMTP not configured (set ALFA_SMTP_URL)'

// Failures of the network or the server's mood rather than of the letter: another attempt may well succeed.
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])

/** Sorts an SMTP failure: a reply code decides when there is one (4xx transient, 5xx final), else the error code. */
export function classifySmtpError(err: unknown): { transient: boolean; error: string } {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; message?: unknown }
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined
  const code = typeof e.code === 'string' ? e.code : undefined
  const transient =
    responseCode !== undefined
      ? responseCode >= 400 && responseCode < 500
      : code !== undefined && TRANSIENT_CODES.has(code)
  // Only the message (the server's reply text) is kept: nodemailer's error objects can carry the SMTP command sent.
  const message = typeof e.message === 'string' ? e.message : String(err)
  return { transient, error: [code, message].filter(Boolean).join(': ').slice(0, 500) }
}

/** The SMTP side of customer mail, on nodemailer: one connection per letter (the volume is a few letters a day). */
export function createMailer(opts: MailerOptions): Mailer {
  const log = opts.logger.child({ component: 'mailer' })
  const timeoutMs = opts.timeoutMs ?? 30_000
  if (!opts.smtpUrl) {
    log.warn('ALFA_SMTP_URL is not set: customer letters will be recorded as failed')
    return { configured: false, send: async () => ({ ok: false, transient: false, error: NOT_CONFIGURED }), close() {} }
  }
  const url = new URL(opts.smtpUrl)
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new Error('ALFA_SMTP_URL must be smtp:// or smtps://')
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    secure: url.protocol === 'smtps:',
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // nodemailer's own logger would print SMTP conversations (AUTH lines, letter bodies): keep it off.
    logger: false,
    debug: false,
  })
  // Never the URL itself: it holds the SMTP password.
  log.info(
    { smtpHost: url.hostname, smtpPort: url.port || undefined, secure: url.protocol === 'smtps:' },
    'SMTP configured',
  )
  return {
    configured: true,
    async send(letter) {
      try {
        const info = await transport.sendMail({
          from: opts.from,
          ...(opts.replyTo ? { replyTo: opts.replyTo } : {}),
          to: letter.to,
          subject: letter.subject,
          text: letter.text,
          html: letter.html,
        })
        return { ok: true, messageId: String(info.messageId ?? '') }
      } catch (err) {
        return { ok: false, ...classifySmtpError(err) }
      }
    },
    close() {
      transport.close()
    },
  }
}
