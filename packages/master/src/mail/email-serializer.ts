import { z } from '@hono/zod-openapi'
import type { EmailLog } from '../generated/prisma/client.ts'
import type { ResourceObject } from '../http/jsonapi.ts'
import { collectionDocumentSchema, resourceDocumentSchema } from '../http/resource-schemas.ts'

/** What the API shows of a letter: its record, never its body (which may hold the owner's password). */
export const emailAttributes = z.object({
  kind: z.enum(['success', 'expire', 'reminder']),
  recipient: z.string(),
  subject: z.string(),
  language: z.string(),
  status: z.enum(['queued', 'sending', 'sent', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  messageId: z.string().nullable(),
  /** Reminders only: "14d", "7d", "1d", "0d". */
  threshold: z.string().nullable(),
  /** The expire date the letter was about (YYYY-MM-DD). */
  expireDate: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
})

export const emailDocumentSchema = resourceDocumentSchema('emails', emailAttributes).openapi('Email')
export const emailCollectionSchema = collectionDocumentSchema('emails', emailAttributes).openapi('Emails')

export function emailResource(row: EmailLog): ResourceObject<z.infer<typeof emailAttributes>> {
  return {
    type: 'emails',
    id: row.id,
    attributes: {
      kind: row.kind as 'success' | 'expire' | 'reminder',
      recipient: row.recipient,
      subject: row.subject,
      language: row.language,
      status: row.status,
      attempts: row.attempts,
      lastError: row.lastError,
      messageId: row.messageId,
      threshold: row.threshold,
      expireDate: row.expireDate ? row.expireDate.toISOString().slice(0, 10) : null,
      createdAt: row.createdAt.toISOString(),
      sentAt: row.sentAt?.toISOString() ?? null,
    },
    relationships: { client: { data: { type: 'clients', id: row.clientId } } },
  }
}
