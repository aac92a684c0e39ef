import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import path from 'node:path'
import type { Logger } from 'pino'
import type { Sql } from '../db/sql.ts'
import { reportedImages } from '../images/image-record.ts'
import {
  endDocText,
  imageListEndDoc,
  parseEndDoc,
  recordImageLists,
  type EndDoc,
  type ImageListEnd,
} from './image-list-end.ts'

/** Ends written by one statement at most: bounds the statement's size when many lists end at once. */
const MAX_STATEMENT = 64
/** How soon a batch the database could not take is tried again, at the least. */
const RETRY_MS = 1_000

/**
 * An end PostgreSQL refuses for the data it holds (SQLSTATE classes 22 and 23: a server deleted meanwhile, a value
 * out of range) fails the same way every time; anything else (a lost connection) may not, next time.
 */
function refusesTheData(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)
}

export interface ImageListRecordsOptions {
  sql: Sql
  logger: Logger
  /** Where the journal lives (the master's data directory, `query-records/`). */
  dir: string
  /** How long an end waits in the journal before it is written with the ends after it. */
  flushMs?: number | undefined
}

interface Batch {
  file: string
  ids: string[]
  docs: EndDoc[]
}

/**
 * The records of image lists that succeeded, written behind their answer. A list changes nothing on its server, and
 * its answer no longer waits for PostgreSQL: the end is appended to a journal file (a write to the page cache, which
 * a crash of the master does not lose), the answer goes, and every `flushMs` the ends gathered meanwhile are written
 * in one statement per 64 and the file removed. A master that starts writes what a dead one left in the journal
 * before it serves (rows that exist are left alone, so writing one twice is harmless). Until written, an end is
 * `pending`: reads of operations wait for it (settle), so GET /operations/{id} of an answer's `meta.operation` never
 * misses the row. What a power cut can lose is what the kernel had not written out: the last seconds of read-only
 * records, never an action's (every operation that changes a server commits before its command is sent).
 */
export function createImageListRecords(opts: ImageListRecordsOptions) {
  const { sql, logger } = opts
  const flushMs = opts.flushMs ?? 25
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
  const names = () => readdirSync(opts.dir).filter((n) => /^\d+\.jsonl$/.test(n))
  let seq = Math.max(0, ...names().map((n) => Number.parseInt(n, 10))) + 1
  let current: (Batch & { fd: number }) | undefined
  const pending = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  /** Batches the database could not take: written before the next one. */
  const retry: Batch[] = []
  let writing: Promise<void> = Promise.resolve()
  let stopped = false

  /** Writes one batch's ends; every end not superseded keeps its images. Resolves once each is stored or given up. */
  async function write(batch: Batch): Promise<void> {
    // A later list of the same server says what it holds now: only the last of each server records images.
    const last = new Map(batch.docs.map((d, i) => [d.server, i]))
    const docs = batch.docs.map((doc, i) => endDocText(doc, last.get(doc.server) === i))
    for (let i = 0; i < docs.length; i += MAX_STATEMENT) {
      const part = docs.slice(i, i + MAX_STATEMENT)
      try {
        await recordImageLists(sql, part)
      } catch (err) {
        if (!refusesTheData(err)) throw err
        // One bad end (its server deleted meanwhile) must not take the others with it: each alone, once. Only an
        // end the database refuses for what it holds is dropped; any other failure keeps the batch.
        for (const doc of part)
          await recordImageLists(sql, [doc]).catch((alone: unknown) => {
            if (!refusesTheData(alone)) throw alone
            logger.error({ err: alone, end: doc.slice(0, 500) }, 'could not record an image list; dropped')
          })
      }
    }
  }

  function rotate(): Batch | undefined {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = current
    if (!batch) return undefined
    current = undefined
    closeSync(batch.fd)
    return batch
  }

  /** Writes what the journal holds; resolves once it (and every earlier batch) is stored. */
  function flush(): Promise<void> {
    const batches = [...retry.splice(0), rotate()].filter((b) => b !== undefined)
    if (batches.length === 0) return writing
    writing = batches.reduce((before, batch) => before.then(() => store(batch)), writing)
    return writing
  }

  async function store(batch: Batch): Promise<void> {
    try {
      await write(batch)
      unlinkSync(batch.file)
      batch.ids.forEach((id) => pending.delete(id))
    } catch (err) {
      // The database is unreachable: the file stays and the batch is tried again (a stopped master's next start
      // writes it); its rows stay pending meanwhile.
      logger.error({ err, file: batch.file }, 'could not record image lists; kept in the journal, retrying')
      retry.push(batch)
      if (!stopped && !timer) {
        timer = setTimeout(() => void flush(), Math.max(flushMs, RETRY_MS))
        timer.unref()
      }
    }
  }

  return {
    /** Journals a list's end and schedules its write; from now on the answer may go. */
    add(end: ImageListEnd): void {
      if (stopped) throw new Error('image list records are stopped')
      const doc = imageListEndDoc({
        ...end.record,
        serverId: end.serverId,
        images: reportedImages(end.images),
      })
      if (!current) {
        const file = path.join(opts.dir, `${seq++}.jsonl`)
        current = { file, fd: openSync(file, 'a', 0o600), ids: [], docs: [] }
      }
      writeSync(current.fd, `${endDocText(doc)}\n`)
      current.ids.push(end.record.id)
      current.docs.push(doc)
      pending.add(end.record.id)
      if (current.docs.length >= MAX_STATEMENT * 4) void flush()
      else if (!timer) {
        timer = setTimeout(() => void flush(), flushMs)
        timer.unref()
      }
    },

    /** Waits until the operation's row (or, without an id, every journaled row) is stored. */
    async settle(operationId?: string): Promise<void> {
      if (operationId === undefined ? pending.size > 0 : pending.has(operationId)) await flush()
    },

    pending: (operationId: string) => pending.has(operationId),

    /** At start, before serving: writes the ends a master that died left in the journal, oldest first. */
    async replay(): Promise<number> {
      let count = 0
      for (const name of names().sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))) {
        const file = path.join(opts.dir, name)
        const docs = readFileSync(file, 'utf8')
          .split('\n')
          // A line cut by the crash is the one end whose answer never went: it is not a record of anything.
          .flatMap((line) => {
            try {
              return line ? [parseEndDoc(line)] : []
            } catch {
              return []
            }
          })
        await write({ file, ids: [], docs })
        unlinkSync(file)
        count += docs.length
      }
      if (count > 0) logger.warn({ count }, 'recorded image lists a stopped master had journaled')
      return count
    },

    /** Writes what is journaled and takes nothing more. */
    async stop(): Promise<void> {
      stopped = true
      await flush()
    },
  }
}

export type ImageListRecords = ReturnType<typeof createImageListRecords>
