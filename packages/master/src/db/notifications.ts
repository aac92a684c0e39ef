// PostgreSQL's LISTEN/NOTIFY for caches of what the database holds: a trigger names what changed, whoever wrote it
// (the ORM, a direct statement, psql by hand), and a cache drops exactly that. Only while the feed is live may a
// cache answer from memory: a lost connection could hide a change, so every listener is reset when it drops and
// again once it listens anew.
import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import type { Logger } from 'pino'

export interface NotificationListener {
  /** A notification's payload, in commit order. */
  notify(payload: string): void
  /** The feed went down (`live` false) or listens again (true): whatever was derived from it may be stale. */
  reset(live: boolean): void
}

export interface Notifications {
  /** Listens on `channel` (a plain identifier); resolves once listening, or once the first attempt failed. */
  listen(channel: string, listener: NotificationListener): Promise<void>
  close(): Promise<void>
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/

function checkChannel(channel: string): string {
  // LISTEN takes an identifier, not a parameter: only a fixed, plain name is ever spliced in.
  if (!CHANNEL.test(channel)) throw new Error(`not a plain channel name: ${JSON.stringify(channel)}`)
  return channel
}

/** Embedded PGlite: one in-process connection that delivers a notification before the writing query resolves. */
export function pgliteNotifications(pglite: PGlite): Notifications {
  const stops: (() => Promise<void>)[] = []
  return {
    async listen(channel, listener) {
      stops.push(await pglite.listen(checkChannel(channel), (payload) => listener.notify(payload)))
      listener.reset(true)
    },
    async close() {
      await Promise.all(stops.splice(0).map((stop) => stop().catch(() => undefined)))
    },
  }
}

/**
 * A real PostgreSQL: one dedicated connection (outside the pool, which hands connections to any statement), opened
 * again `retryMs` after it drops, for as long as the master runs. A connection that dies without a word (a silent
 * network, a frozen server) would leave caches trusting a feed that says nothing: it is probed every `probeMs` and
 * counted as lost when a probe fails or takes longer than the next one is due.
 */
export function pgNotifications(databaseUrl: string, logger: Logger, retryMs = 1_000, probeMs = 10_000): Notifications {
  const channels = new Map<string, NotificationListener[]>()
  let client: pg.Client | undefined
  let connecting: Promise<void> | undefined
  let retry: NodeJS.Timeout | undefined
  let probe: NodeJS.Timeout | undefined
  let closed = false

  const each = (fn: (l: NotificationListener) => void) => {
    for (const listeners of channels.values()) listeners.forEach(fn)
  }

  function lost(c: pg.Client, err?: unknown) {
    if (client !== c) return
    client = undefined
    clearInterval(probe)
    each((l) => l.reset(false))
    if (closed) return
    logger.warn({ err, component: 'database' }, 'notification connection lost; caches answer from the database')
    c.end().catch(() => undefined)
    retryLater()
  }

  function retryLater() {
    retry = setTimeout(() => void connect(), retryMs)
    retry.unref()
  }

  function connect(): Promise<void> {
    connecting = (async () => {
      const c = new pg.Client({ connectionString: databaseUrl, keepAlive: true })
      c.on('error', (err) => lost(c, err))
      c.on('end', () => lost(c))
      c.on('notification', (msg) => channels.get(msg.channel)?.forEach((l) => l.notify(msg.payload ?? '')))
      try {
        await c.connect()
        client = c
        for (const channel of channels.keys()) await c.query(`LISTEN ${channel}`)
        if (closed) return void (await c.end())
        clearInterval(probe)
        probe = setInterval(() => {
          const late = setTimeout(() => lost(c, new Error(`no answer to a probe in ${probeMs} ms`)), probeMs)
          late.unref()
          c.query('SELECT 1').then(
            () => clearTimeout(late),
            (err: unknown) => {
              clearTimeout(late)
              lost(c, err)
            },
          )
        }, probeMs)
        probe.unref()
        each((l) => l.reset(true))
      } catch (err) {
        if (client === c) lost(c, err)
        else if (!closed) {
          c.end().catch(() => undefined)
          logger.warn({ err, component: 'database' }, 'notification connection failed; retrying')
          retryLater()
        }
      }
    })()
    return connecting
  }

  return {
    async listen(channel, listener) {
      checkChannel(channel)
      const known = channels.get(channel)
      channels.set(channel, [...(known ?? []), listener])
      if (client && !known) await client.query(`LISTEN ${channel}`).catch((err: unknown) => lost(client!, err))
      if (client) return listener.reset(true)
      await (connecting ?? connect())
    },
    async close() {
      closed = true
      clearTimeout(retry)
      clearInterval(probe)
      await connecting
      const c = client
      client = undefined
      await c?.end().catch(() => undefined)
    },
  }
}
