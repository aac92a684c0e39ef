import type { Logger } from 'pino'

/**
 * Values queued by key and written together, one statement per `flushMs`, for writes nothing waits on (command acks,
 * agent presence). A later value for a key replaces the queued one; `update` may build it from the queued one.
 * Batches are written one after another, in order. A failed batch is logged and, with `retry`, queued again where no
 * newer value replaced it. After stop() nothing more is taken: sockets that close at shutdown would otherwise queue
 * writes for a database that is gone.
 */
export function createCoalescingWriter<V>(opts: {
  flushMs: number
  write: (batch: Map<string, V>) => Promise<void>
  logger: Logger
  /** What is written, for the log line of a failed batch. */
  what: string
  retry: boolean
}) {
  let pending = new Map<string, V>()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> = Promise.resolve()
  let stopped = false

  function schedule() {
    if (timer) return
    timer = setTimeout(() => void flush(), opts.flushMs)
    timer.unref()
  }

  async function write(batch: Map<string, V>) {
    if (batch.size === 0) return
    try {
      await opts.write(batch)
    } catch (err) {
      opts.logger.error(
        { err, count: batch.size },
        `could not record ${opts.what}${opts.retry ? '; retrying with the next batch' : ''}`,
      )
      if (!opts.retry || stopped) return
      for (const [key, value] of batch) if (!pending.has(key)) pending.set(key, value)
      schedule()
    }
  }

  /** Writes what is queued; resolves once it (and every earlier batch) is stored. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = new Map()
    writing = writing.then(() => write(batch))
    return writing
  }

  return {
    /** Queues the value for `key`, computed from the one still queued for it, if any. */
    update(key: string, next: (queued: V | undefined) => V): void {
      if (stopped) return
      pending.set(key, next(pending.get(key)))
      schedule()
    },
    flush,
    /** Writes what is queued and takes nothing more. */
    async stop(): Promise<void> {
      stopped = true
      await flush()
    },
  }
}
