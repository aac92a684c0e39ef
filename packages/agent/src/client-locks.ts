import { isReadOnlyCommand, type CommandFrame, type CommandType } from '@alfa/protocol'

/** Commands that change a client: one at a time per client, and never while an earlier one still rolls back. */
const CHANGES_CLIENT = new Set<CommandFrame['type']>([
  'client.create',
  'client.switch',
  'client.delete',
  'client.restart',
  'client.configure',
  'client.app',
  'client.restore_files',
])

/**
 * Commands safe to run twice: they set an absolute state (flags, settings row, site) or restart, so a second run
 * ends where the first did, and they write no step record (which must not race the begin record). The dispatcher
 * starts them while their begin record is being written; the ack still waits for it.
 */
const REPEATABLE = new Set<CommandType>(['client.configure', 'client.restart'])

/** True for a command the dispatcher may start before its begin record is on disk (see REPEATABLE). */
export const startsWhileJournaled = (type: CommandType): boolean => REPEATABLE.has(type)

/** The lock key of a command that changes a client (its slug), or undefined. */
export function clientLockKey(frame: CommandFrame): string | undefined {
  if (!CHANGES_CLIENT.has(frame.type) || isReadOnlyCommand(frame)) return undefined
  const payload = frame.payload
  return 'slug' in payload && typeof payload.slug === 'string' ? `client:${payload.slug}` : undefined
}

/**
 * One lock per client, held by a command until its handler has really ended (rollback included), even when its
 * result was already reported: a retry of the same client waits here instead of racing the rollback.
 */
export function createClientLocks() {
  const tails = new Map<string, Promise<void>>()
  return {
    /** Waits for the client's earlier commands; rejects when `signal` aborts first. Returns the release. */
    async acquire(key: string, signal: AbortSignal): Promise<() => void> {
      const before = tails.get(key) ?? Promise.resolve()
      let release!: () => void
      const mine = new Promise<void>((resolve) => {
        release = resolve
      })
      const tail = before.then(() => mine)
      tails.set(key, tail)
      const done = () => {
        release()
        if (tails.get(key) === tail) tails.delete(key)
      }
      let onAbort: (() => void) | undefined
      try {
        await new Promise<void>((resolve, reject) => {
          onAbort = () => reject(new Error('aborted while waiting for an earlier command of this client'))
          if (signal.aborted) onAbort()
          signal.addEventListener('abort', onAbort, { once: true })
          void before.then(resolve)
        })
      } catch (error) {
        done()
        throw error
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort)
      }
      return done
    },

    /** Whether some command holds or waits for this client. */
    busy(key: string): boolean {
      return tails.has(key)
    },
  }
}
