import type { MetricsSample } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Sql } from '../db/sql.ts'
import { addSample, minuteOf, rollupRow, startAggregate, type MinuteAggregate } from './minute-rollup.ts'
import { LatestSample } from './latest-sample.ts'
import { RawWindow, type RawSample } from './raw-window.ts'

export interface MetricsStoreOptions {
  /** How much raw history is kept in memory per server. */
  windowMs?: number
  /** Expected sampling interval, to size the raw window. */
  sampleIntervalMs?: number
  /** How often finished minutes are written to the database. */
  flushMs?: number
  /**
   * How often the latest sample of each server is copied to ServerMetrics (for other replicas and restarts;
   * this process answers from memory). Once a minute: rewriting 15,000 rows every 5 s costs more than it is worth.
   */
  persistLatestMs?: number
  /** How long per-minute rollups are kept. */
  retentionMs?: number
}

/** Rows per statement; between statements the event loop gets a turn, so a 15,000-server flush never stalls requests for long. */
const ROWS_PER_STATEMENT = 500
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Calls `write` with successive chunks of ROWS_PER_STATEMENT items, giving the event loop a turn between them. */
async function inChunks<T>(items: T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) {
    if (i > 0) await yieldToEventLoop()
    await write(items.slice(i, i + ROWS_PER_STATEMENT))
  }
}

function compact(sample: MetricsSample): RawSample {
  const disk = sample.host.disk
  return {
    ts: sample.ts,
    cpu: sample.host.cpu,
    load1: sample.host.load[0],
    memUsed: sample.host.mem.used,
    memTotal: sample.host.mem.total,
    diskUsed: disk.reduce((n, d) => n + d.used, 0),
    diskTotal: disk.reduce((n, d) => n + d.total, 0),
    rxBytes: sample.host.net.rxBytes,
    txBytes: sample.host.net.txBytes,
  }
}

/**
 * Live load: the latest sample per server (persisted in batches to ServerMetrics so every replica and a
 * restart see it), a raw window in memory for the last minutes, per-minute rollups in the database kept 30 days,
 * and subscribers for the SSE stream. Ingest is O(1) and never touches the database.
 */
export function createMetricsStore(
  deps: { prisma: PrismaClient; sql: Sql; clock: Clock; logger: Logger } & MetricsStoreOptions,
) {
  const { prisma, sql, clock } = deps
  const log = deps.logger.child({ component: 'metrics-store' })
  const windowMs = deps.windowMs ?? 10 * 60_000
  const capacity = Math.max(12, Math.ceil(windowMs / (deps.sampleIntervalMs ?? 5_000)) + 2)
  const retentionMs = deps.retentionMs ?? 30 * 24 * 3600_000
  const windows = new Map<string, RawWindow>()
  // Kept in place per server, not as the parsed document: see latest-sample.ts.
  const latest = new Map<string, LatestSample>()
  const dirty = new Set<string>()
  const open = new Map<string, MinuteAggregate>()
  let finished: ReturnType<typeof rollupRow>[] = []
  const listeners = new Map<string, Set<(s: MetricsSample) => void>>()
  let timer: NodeJS.Timeout | undefined
  let lastRetention = 0
  const persistLatestMs = deps.persistLatestMs ?? 60_000
  const flushMs = deps.flushMs ?? 5_000

  // Each chunk is one statement with one jsonb parameter: bind parameters per row cost the master's event loop
  // milliseconds per chunk, and the join skips servers deleted meanwhile instead of failing the chunk on its key.
  function writeLatest(ids: string[]) {
    return inChunks(ids, (chunk) => {
      // Built as text: the samples already are JSON.
      const rows = chunk.map((id) => {
        const l = latest.get(id)!
        return `{"id":"${id}","m":${l.text()},"t":"${new Date(l.ts).toISOString()}"}`
      })
      return sql.query(
        `INSERT INTO "ServerMetrics" ("serverId", "sample", "takenAt")
         SELECT v.id, v.m, v.t FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, m jsonb, t timestamp(3)) JOIN "Server" s ON s.id = v.id
         ON CONFLICT ("serverId") DO UPDATE SET "sample" = EXCLUDED."sample", "takenAt" = EXCLUDED."takenAt"`,
        [`[${rows.join(',')}]`],
        'metrics-latest',
      )
    })
  }

  function writeRollups(rows: ReturnType<typeof rollupRow>[]) {
    return inChunks(rows, (chunk) =>
      sql.query(
        `INSERT INTO "MetricRollup" ("serverId", minute, samples, "cpuAvg", "cpuMax", load1, "memUsedBytes", "memTotalBytes",
                                     "diskUsedBytes", "diskTotalBytes", "netRxBytes", "netTxBytes")
         SELECT r."serverId", r.minute, r.samples, r."cpuAvg", r."cpuMax", r.load1, r."memUsedBytes", r."memTotalBytes",
                r."diskUsedBytes", r."diskTotalBytes", r."netRxBytes", r."netTxBytes"
           FROM jsonb_to_recordset($1::jsonb) AS r("serverId" uuid, minute timestamp(3), samples int, "cpuAvg" float8, "cpuMax" float8,
                load1 float8, "memUsedBytes" bigint, "memTotalBytes" bigint, "diskUsedBytes" bigint, "diskTotalBytes" bigint,
                "netRxBytes" bigint, "netTxBytes" bigint)
           JOIN "Server" s ON s.id = r."serverId"
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(chunk)],
        'metrics-rollups',
      ),
    )
  }

  return {
    /**
     * Takes one sample from an agent; `text`, when given, is the sample's frame as received and holds nothing else
     * (the parser's `verbatim`), so the latest sample keeps it instead of serialising the sample again.
     */
    ingest(serverId: string, sample: MetricsSample, text?: string): void {
      // A sample older than the retention (an agent with a wrong clock) would only be deleted again.
      if (sample.ts < clock.now().getTime() - retentionMs) return
      const raw = compact(sample)
      let w = windows.get(serverId)
      if (!w) windows.set(serverId, (w = new RawWindow(capacity)))
      w.push(raw)
      let newest = latest.get(serverId)
      if (!newest) latest.set(serverId, (newest = new LatestSample()))
      if (newest.ts <= sample.ts) newest.set(raw, sample, text)
      dirty.add(serverId)
      const agg = open.get(serverId)
      if (!agg) open.set(serverId, startAggregate(raw))
      else if (agg.minute === minuteOf(raw.ts)) addSample(agg, raw)
      else if (minuteOf(raw.ts) > agg.minute) {
        finished.push(rollupRow(serverId, agg))
        open.set(serverId, startAggregate(raw))
      }
      const subs = listeners.get(serverId)
      if (subs) for (const fn of subs) fn(sample)
    },

    /** The newest sample of the server, as the agent sent it (validated). */
    latest(serverId: string): MetricsSample | undefined {
      const l = latest.get(serverId)
      return l && (JSON.parse(l.text()) as MetricsSample)
    },

    /** What the server list shows of the newest sample, without parsing it. */
    headline(serverId: string) {
      return latest.get(serverId)?.headline()
    },

    /**
     * Raw samples held in memory for [from, to], and whether the in-memory window spans `from` (then these are all
     * the samples there are, even for a server that came online a minute ago).
     */
    raw(serverId: string, from: number, to: number): { samples: RawSample[]; covers: boolean } {
      const covers = from >= clock.now().getTime() - windowMs
      return { samples: windows.get(serverId)?.range(from, to) ?? [], covers }
    },

    /** Per-minute rollups from the database for [from, to]. */
    rollups(serverId: string, from: number, to: number) {
      return prisma.metricRollup.findMany({
        where: { serverId, minute: { gte: new Date(minuteOf(from)), lte: new Date(to) } },
        orderBy: { minute: 'asc' },
      })
    },

    /** Calls fn with every new sample of the server until the returned function is called. */
    subscribe(serverId: string, fn: (s: MetricsSample) => void): () => void {
      let set = listeners.get(serverId)
      if (!set) listeners.set(serverId, (set = new Set()))
      set.add(fn)
      return () => {
        set.delete(fn)
        if (set.size === 0) listeners.delete(serverId)
      }
    },

    /**
     * Writes finished minutes and latest samples; closes minutes past the current one; prunes old rollups. By default
     * everything queued is written (tests, shutdown). `spread` (the periodic flush) writes a slice instead, so the database gets the same
     * rows evenly over the minute rather than all 15,000 servers' at once, which stalled its other queries: each
     * server's latest sample about once per `persistLatestMs`, and finished minutes within half a minute.
     */
    async flush(opts: { spread?: boolean } = {}): Promise<void> {
      const now = clock.now().getTime()
      for (const [id, agg] of open) {
        if (agg.minute < minuteOf(now) - 60_000) {
          finished.push(rollupRow(id, agg))
          open.delete(id)
        }
      }
      let ids = [...dirty]
      if (opts.spread) ids = ids.slice(0, Math.ceil((latest.size * flushMs) / persistLatestMs))
      // Taken out now; a sample arriving meanwhile queues its server again, at the back.
      for (const id of ids) dirty.delete(id)
      const take = opts.spread
        ? Math.max(ROWS_PER_STATEMENT, Math.ceil((2 * open.size * flushMs) / 60_000))
        : finished.length
      const rows = finished.slice(0, take)
      finished = finished.slice(take)
      try {
        if (ids.length) await writeLatest(ids)
        await writeRollups(rows)
        if (now - lastRetention > 3600_000) {
          lastRetention = now
          await prisma.metricRollup.deleteMany({ where: { minute: { lt: new Date(now - retentionMs) } } })
        }
      } catch (err) {
        log.error({ err, servers: ids.length, rollups: rows.length }, 'could not store metrics')
        for (const id of ids) dirty.add(id)
        finished.push(...rows)
      }
    },

    /** Starts the periodic flush. */
    start(): void {
      const loop = () => {
        timer = setTimeout(
          () =>
            void this.flush({ spread: true }).finally(() => {
              if (timer) loop()
            }),
          flushMs,
        )
        timer.unref()
      }
      loop()
    },

    async stop(): Promise<void> {
      if (timer) clearTimeout(timer)
      timer = undefined
      await this.flush()
    },
  }
}

export type MetricsStore = ReturnType<typeof createMetricsStore>
