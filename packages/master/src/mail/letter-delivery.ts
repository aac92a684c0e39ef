import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { EmailLog, PrismaClient } from '../generated/prisma/client.ts'
import type { Mailer, OutgoingLetter } from './mailer.ts'

/** Retries of transient SMTP failures: exponential backoff from baseDelayMs, capped at maxDelayMs, with jitter. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 2_000, maxDelayMs: 60_000 }

/** Delay before attempt n+1 (n ≥ 1): base·2^(n-1), capped, then 50–100 % of it so replicas do not retry in step. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(full * (0.5 + random() / 2))
}

/** Longest a delivery can take with this policy (every wait at its cap), for recognising abandoned letters. */
export function longestDelivery(policy: RetryPolicy, attemptTimeoutMs: number): number {
  let total = policy.attempts * attemptTimeoutMs * 3
  for (let n = 1; n < policy.attempts; n++) total += Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1))
  return total
}

export interface LetterDelivery {
  /** Sends the letter of an EmailLog row (status queued), keeping the row current; resolves with the final row. */
  deliver(row: EmailLog, letter: OutgoingLetter): Promise<EmailLog>
  /** Cuts backoff waits short (the letters end failed) and waits for attempts in flight. */
  stop(): Promise<void>
}

/**
 * The record-keeping side of a letter: every attempt moves its row queued → sending → sent | failed, so the API and
 * a restarted master see where each letter is. Never throws for an SMTP failure: the caller gets the failed row.
 */
export function createLetterDelivery(deps: {
  prisma: PrismaClient
  clock: Clock
  mailer: Mailer
  logger: Logger
  retry?: Partial<RetryPolicy>
}): LetterDelivery {
  const { prisma, clock, mailer } = deps
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry }
  const log = deps.logger.child({ component: 'letters' })
  const inFlight = new Set<Promise<EmailLog>>()
  const stopping = new AbortController()

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping.signal.aborted) return resolve()
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        stopping.signal.removeEventListener('abort', done)
        resolve()
      }
      stopping.signal.addEventListener('abort', done)
    })

  async function run(row: EmailLog, letter: OutgoingLetter): Promise<EmailLog> {
    // Only what identifies the letter: never its body, which may hold the owner's password.
    const where = log.child({ emailId: row.id, clientId: row.clientId, kind: row.kind, recipient: row.recipient })
    for (let attempt = row.attempts + 1; ; attempt++) {
      await prisma.emailLog.update({ where: { id: row.id }, data: { status: 'sending', attempts: attempt } })
      const outcome = await mailer.send(letter)
      if (outcome.ok) {
        const sent = await prisma.emailLog.update({
          where: { id: row.id },
          data: { status: 'sent', messageId: outcome.messageId, sentAt: clock.now(), lastError: null },
        })
        where.info({ status: 'sent', messageId: outcome.messageId, attempts: attempt }, 'letter sent')
        return sent
      }
      const last = attempt >= policy.attempts || !outcome.transient
      if (last || stopping.signal.aborted) {
        const lastError = !last ? `${outcome.error} (not retried: the master was stopping)` : outcome.error
        const failed = await prisma.emailLog.update({ where: { id: row.id }, data: { status: 'failed', lastError } })
        where.warn({ status: 'failed', attempts: attempt, error: lastError }, 'letter failed')
        return failed
      }
      const delayMs = backoffDelay(policy, attempt)
      await prisma.emailLog.update({ where: { id: row.id }, data: { status: 'queued', lastError: outcome.error } })
      where.info(
        { status: 'queued', attempts: attempt, error: outcome.error, retryInMs: delayMs },
        'letter attempt failed; will retry',
      )
      await pause(delayMs)
    }
  }

  return {
    deliver(row, letter) {
      const p = run(row, letter)
      inFlight.add(p)
      const forget = () => {
        inFlight.delete(p)
      }
      p.then(forget, forget)
      return p
    },
    async stop() {
      stopping.abort()
      await Promise.allSettled([...inFlight])
    },
  }
}
