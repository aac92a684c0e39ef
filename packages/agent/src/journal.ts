import fs from 'node:fs/promises'
import path from 'node:path'
import { uuidSchema, wireError, wireErrorSchema, type WireError } from '@alfa/protocol'
import type { Logger } from 'pino'
import { z } from 'zod'
import { writeFileAtomic } from './atomic-file.ts'

/**
 * Finished entries are kept this long so a late re-send of the same id is still recognised, then pruned, acked or
 * not: a result the master refused or never acknowledged in a week will not be wanted any more.
 */
export const JOURNAL_RETENTION_MS = 7 * 24 * 60 * 60 * 1000
/** Read-only requests live in memory only, until acked or this old (a re-run of one is harmless). */
export const VOLATILE_RETENTION_MS = 60 * 60 * 1000
/**
 * Finished entries kept at most, whatever their age: a master (or whoever holds its credential) sending commands
 * faster than the week of retention ages them out would otherwise grow the directory and the map without end. Past
 * it the oldest go first, acknowledged ones before the results still to be re-sent, down to 90% of the bound (so a
 * sweep happens once per tenth of the bound, not on every command). Running entries are never dropped.
 */
export const MAX_JOURNAL_FINISHED = 20_000

const journalResultSchema = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: wireErrorSchema }),
])

/** A command's outcome as stored and as re-sent in a `result` frame. */
export type JournalResult = { ok: true; data: unknown } | { ok: false; error: WireError }

const journalEntrySchema = z.object({
  id: uuidSchema,
  type: z.string(),
  status: z.enum(['running', 'done']),
  result: journalResultSchema.optional(),
  /** The master stored the result: nothing left to re-send. */
  acked: z.boolean(),
  /** Last change, ms since the epoch: drives pruning. */
  at: z.number(),
  /** What a multi-step command journaled as it went (step, what it made), for recovery after a crash. */
  recovery: z.record(z.string(), z.unknown()).optional(),
})

export type JournalEntry = z.infer<typeof journalEntrySchema>

/**
 * The on-disk record of every command id this agent has seen, one small JSON file per id, so a command re-sent after
 * a reconnect or a restart is answered from here and never run twice.
 */
export function createJournal(deps: {
  dir: string
  now?: () => number
  logger: Logger
  maxFinished?: number
  /** How an entry's file is written (atomically, synced); tests slow it down. */
  writeFile?: (file: string, data: string) => Promise<void>
}) {
  const { dir } = deps
  const maxFinished = deps.maxFinished ?? MAX_JOURNAL_FINISHED
  const writeFile = deps.writeFile ?? ((file: string, data: string) => writeFileAtomic(file, data))
  const now = deps.now ?? Date.now
  const log = deps.logger.child({ component: 'journal' })
  const entries = new Map<string, JournalEntry>()
  /** Ids of read-only requests: never written to disk, dropped once acked. */
  const volatile = new Set<string>()

  // The id is a validated uuid before it becomes a file name, so no frame can steer a write outside dir.
  const fileOf = (id: string) => path.join(dir, `${uuidSchema.parse(id)}.json`)
  /** Each id's last write in flight: an entry's writes land in the order they were made, so the newest stays. */
  const writing = new Map<string, Promise<void>>()
  function persist(entry: JournalEntry): Promise<void> {
    // An earlier write's failure went to its own caller; this one is tried regardless.
    const after = writing.get(entry.id)?.catch(() => undefined) ?? Promise.resolve()
    const write = after.then(() => writeFile(fileOf(entry.id), JSON.stringify(entry)))
    writing.set(entry.id, write)
    const settled = () => {
      if (writing.get(entry.id) === write) writing.delete(entry.id)
    }
    write.then(settled, settled)
    return write
  }

  async function loadEntry(name: string): Promise<JournalEntry | undefined> {
    const text = await fs.readFile(path.join(dir, name), 'utf8')
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      log.error({ file: name, err: error }, 'unreadable journal entry skipped')
      return undefined
    }
    const parsed = journalEntrySchema.safeParse(value)
    if (parsed.success) return parsed.data
    log.error({ file: name, issues: parsed.error.issues.slice(0, 3) }, 'invalid journal entry skipped')
    return undefined
  }

  async function prune(): Promise<void> {
    const cutoff = now() - JOURNAL_RETENTION_MS
    const volatileCutoff = now() - VOLATILE_RETENTION_MS
    for (const entry of [...entries.values()]) {
      if (entry.status !== 'done') continue
      if (volatile.has(entry.id)) {
        if (entry.at >= volatileCutoff) continue
        volatile.delete(entry.id)
        entries.delete(entry.id)
        continue
      }
      if (entry.at >= cutoff) continue
      if (!entry.acked) log.warn({ commandId: entry.id, type: entry.type }, 'result never acknowledged: pruned')
      await drop(entry)
    }
    await bound()
  }

  async function drop(entry: JournalEntry) {
    entries.delete(entry.id)
    if (!volatile.delete(entry.id)) await fs.rm(fileOf(entry.id), { force: true })
  }

  /** The count bound (MAX_JOURNAL_FINISHED): oldest finished entries first, acknowledged before unacknowledged. */
  async function bound() {
    const finished = [...entries.values()].filter((e) => e.status === 'done')
    if (finished.length <= maxFinished) return
    finished.sort((a, b) => Number(a.acked === false) - Number(b.acked === false) || a.at - b.at)
    const excess = finished.slice(0, finished.length - Math.floor(maxFinished * 0.9))
    const unacked = excess.filter((e) => !e.acked).length
    log.warn({ dropped: excess.length, unacked, bound: maxFinished }, 'journal over its bound: oldest entries dropped')
    for (const entry of excess) await drop(entry)
  }

  async function update(id: string, change: Partial<JournalEntry>): Promise<JournalEntry | undefined> {
    const entry = entries.get(id)
    if (!entry) return undefined
    const next = { ...entry, ...change, at: now() }
    entries.set(id, next)
    if (!volatile.has(id)) await persist(next)
    return next
  }

  return {
    /**
     * Loads the journal. Entries still `running` belonged to a process that died mid-command: those without a step
     * record become results with INTERRUPTED, to be reported to the master like any other result.
     */
    async open(): Promise<void> {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      for (const name of await fs.readdir(dir)) {
        if (!/^[0-9a-f-]{36}\.json$/.test(name)) continue
        const entry = await loadEntry(name)
        if (entry) entries.set(entry.id, entry)
      }
      for (const entry of [...entries.values()]) {
        // A multi-step command with a step record stays running: the agent finishes or rolls it back (toRecover).
        if (entry.status !== 'running' || entry.recovery) continue
        const error = wireError('INTERRUPTED', 'the agent stopped while this command was running')
        await update(entry.id, { status: 'done', result: { ok: false, error } })
        log.warn({ commandId: entry.id, type: entry.type }, 'command interrupted by an agent restart')
      }
      await prune()
    },

    /** Commands a previous process left running with a step record: to be finished or rolled back now. */
    toRecover(): JournalEntry[] {
      return [...entries.values()].filter((e) => e.status === 'running' && e.recovery !== undefined)
    },

    /**
     * Records that `id` starts now; false when the id is already known (it must never run twice). A `readOnly`
     * request (monitoring) is kept in memory only: no file, no fsync for what is harmless to run again.
     */
    async begin(id: string, type: string, opts: { readOnly?: boolean } = {}): Promise<boolean> {
      fileOf(id) // throws on a non-uuid id before anything is claimed
      if (entries.has(id)) return false
      // The map is claimed synchronously, before the write: a duplicate arriving meanwhile already sees it.
      const entry: JournalEntry = { id, type, status: 'running', acked: false, at: now() }
      entries.set(id, entry)
      if (opts.readOnly) volatile.add(id)
      else await persist(entry)
      return true
    },

    /** Merges `facts` into the entry's recovery record and writes it through (fsync) before resolving. */
    async record(id: string, facts: Record<string, unknown>): Promise<void> {
      const entry = entries.get(id)
      if (!entry) return
      await update(id, { recovery: { ...entry.recovery, ...facts } })
    },

    /** Stores the command's result; it stays unacked (and is re-sent on reconnect) until the master acks it. */
    async complete(id: string, result: JournalResult): Promise<void> {
      await update(id, { status: 'done', result })
      if (entries.size > maxFinished) await bound()
    },

    /** The master stored the result: mark it acked, and prune acked entries past retention. */
    async ack(id: string): Promise<boolean> {
      const entry = entries.get(id)
      if (!entry || entry.status !== 'done' || entry.acked) return false
      if (volatile.delete(id)) entries.delete(id)
      else await update(id, { acked: true })
      await prune()
      return true
    },

    /**
     * A read-only command's result went out: nothing keeps it, since no ack will come for it (isReadOnlyCommand).
     * Only a read-only (in-memory) entry is dropped; any other waits for its ack.
     */
    forget(id: string): void {
      if (entries.get(id)?.status === 'done' && volatile.delete(id)) entries.delete(id)
    },

    /** Drops finished entries past retention (also run on every ack; the agent runs it hourly too). */
    prune,

    /** How many entries are held in memory (to test the bound). */
    get size(): number {
      return entries.size
    },

    get(id: string): JournalEntry | undefined {
      return entries.get(id)
    },

    /** Ids the master must hear about in hello: running, or finished with a result it has not acknowledged. */
    inFlight(): string[] {
      return [...entries.values()].filter((e) => !e.acked).map((e) => e.id)
    },

    /** Finished entries whose result the master has not acknowledged, oldest first: re-sent after reconnect. */
    unackedResults(): JournalEntry[] {
      return [...entries.values()].filter((e) => e.status === 'done' && !e.acked).sort((a, b) => a.at - b.at)
    },
  }
}

export type Journal = ReturnType<typeof createJournal>
