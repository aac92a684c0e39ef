import { clientUrl } from '../clients/client-serializer.ts'
import type { Client } from '../generated/prisma/client.ts'
import { daysBetween, formatDate, isoDate, relativeDays, todayIn } from './calendar.ts'
import { letterLanguage, renderLetter, type LetterKind, type LetterLanguage } from './letter-templates.ts'

/** How letters are worded: where the templates are, the customers' time zone, and the "how to extend" line. */
export interface LetterSettings {
  templatesDir: string
  /** Zone in which "today" and "days left" are counted. */
  timeZone: string
  /** The "how to extend" line per language (ALFA_MAIL_EXTEND_TEXT / ALFA_MAIL_EXTEND_TEXT_EN). */
  extendText: Record<LetterLanguage, string>
}

export const DEFAULT_EXTEND_TEXT: Record<LetterLanguage, string> = {
  ru: 'ответьте на это письмо или свяжитесь с вашим менеджером Alfa Cloud, и мы выставим счёт на продление.',
  en: 'reply to this letter or contact your Alfa Cloud manager, and we will send you an invoice for the extension.',
}

/** The default line when a reply would reach nobody: it does not invite one. */
export const NO_REPLY_EXTEND_TEXT: Record<LetterLanguage, string> = {
  ru: 'свяжитесь с вашим менеджером Alfa Cloud, и мы выставим счёт на продление.',
  en: 'contact your Alfa Cloud manager, and we will send you an invoice for the extension.',
}

/**
 * Whether a customer's reply reaches someone: a Reply-To is set, or the From is not a no-reply address. The default
 * From (`noreply@localhost`) without ALFA_MAIL_REPLY_TO is the case this catches: "reply to this letter" there
 * would send the customer's request for an invoice nowhere.
 */
export function repliesReachSomeone(from: string, replyTo: string | undefined): boolean {
  if (replyTo) return true
  const address = /<([^>]*)>/.exec(from)?.[1] ?? from
  const local = address.trim().split('@')[0] ?? ''
  return !/^(no-?reply|do-?not-?reply)$/i.test(local)
}

/** The "how to extend" line per language when ALFA_MAIL_EXTEND_TEXT does not set it. */
export function defaultExtendText(from: string, replyTo: string | undefined): Record<LetterLanguage, string> {
  return repliesReachSomeone(from, replyTo) ? DEFAULT_EXTEND_TEXT : NO_REPLY_EXTEND_TEXT
}

/** The client fields a letter needs, with its server's TLS flag for the URL. */
export type LetterClient = Client & { server: { tlsEnabled: boolean; sitesPort: number | null } }

/** A letter ready for the mailer and the EmailLog row. */
export interface ComposedLetter {
  kind: LetterKind
  recipient: string
  language: LetterLanguage
  subject: string
  text: string
  html: string
}

/** The address the customer opens: https when the client's server serves TLS. */
export function cloudUrl(client: LetterClient): string {
  return clientUrl(client, client.server)
}

/** success goes to the owner; expiry letters to the contact address when one is set (it is often accounting). */
export function recipientOf(client: LetterClient, kind: LetterKind): string {
  return kind === 'success' ? client.ownerEmail : (client.contactEmail ?? client.ownerEmail)
}

/** Days from today (in the customers' zone) to the client's expire date; negative once it has passed. */
export function daysLeft(expireDate: Date, timeZone: string, now: Date): number {
  return daysBetween(todayIn(timeZone, now), isoDate(expireDate))
}

/**
 * Renders one letter for a client. `password` is the decrypted owner password: it is passed in only for success
 * and lives no longer than this letter.
 */
export async function composeLetter(
  settings: LetterSettings,
  client: LetterClient,
  kind: LetterKind,
  opts: { now: Date; password?: string },
): Promise<ComposedLetter> {
  const language = letterLanguage(client.language)
  const values: Record<string, string> = {
    clientName: client.name,
    domain: client.domain,
    url: cloudUrl(client),
    login: client.ownerLogin,
  }
  if (kind === 'success') {
    if (opts.password === undefined) throw new Error('a success letter needs the owner password')
    values.password = opts.password
  } else {
    if (!client.expireDate) throw new Error('an expiry letter needs an expire date')
    const days = daysLeft(client.expireDate, settings.timeZone, opts.now)
    Object.assign(values, {
      expireDate: formatDate(client.expireDate, language),
      daysLeft: String(days),
      whenText: relativeDays(days, language),
      extendText: settings.extendText[language],
    })
  }
  const rendered = await renderLetter(settings.templatesDir, language, kind, values)
  return { kind, recipient: recipientOf(client, kind), language, ...rendered }
}
