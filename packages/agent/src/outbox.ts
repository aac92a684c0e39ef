import fs from 'node:fs/promises'
import path from 'node:path'
import { logFrameSchema, progressFrameSchema, uuidSchema, type LogFrame, type ProgressFrame } from '@alfa/protocol'
import type { Logger } from 'pino'
import { z } from 'zod'
import { writeFileAtomic } from './atomic-file.ts'

/** A frame that narrates a running command; lost frames leave steps "running" on an operation that ended. */
export type StreamFrame = LogFrame | ProgressFrame

/** Log lines kept per command while the master is unreachable; later ones are counted, not kept (progress always is). */
export const OUTBOX_MAX_LINES = 2_000

const streamFrameSchema = z.union([logFrameSchema, progressFrameSchema])

interface Queue {
  frames: StreamFrame[]
  lines: number
  /** Log lines left out past the bound, reported by one line at replay. */
  dropped: number
}

/**
 * Keeps the log and progress frames a command emits while the master is unreachable, in order, on disk (one JSON line
 * per frame, `<id>.frames.jsonl` beside the journal, no fsync: a lost tail costs narration, never a result), and
 * replays them once on reconnect before that command's result. While a command has frames waiting, its new frames
 * queue behind them, so the master always sees one command's frames in the order they were made.
 */
export function createOutbox(deps: {
  dir: string
  send: (frame: StreamFrame) => boolean
  logger: Logger
  maxLines?: number
}) {
  const { dir, send } = deps
  const maxLines = deps.maxLines ?? OUTBOX_MAX_LINES
  const log = deps.logger.child({ component: 'outbox' })
  const queues = new Map<string, Queue>()
  const fileOf = (id: string) => path.join(dir, `${uuidSchema.parse(id)}.frames.jsonl`)
  // One chain for every file write, so an append never overtakes the removal or rewrite queued before it.
  let writing: Promise<void> = Promise.resolve()

  function write(id: string, work: () => Promise<void>): void {
    writing = writing.then(work).catch((error: unknown) => log.warn({ err: error, commandId: id }, 'outbox write'))
  }

  function enqueue(frame: StreamFrame): void {
    let q = queues.get(frame.id)
    if (!q) queues.set(frame.id, (q = { frames: [], lines: 0, dropped: 0 }))
    if (frame.kind === 'log' && q.lines >= maxLines) {
      q.dropped++
      return
    }
    if (frame.kind === 'log') q.lines++
    q.frames.push(frame)
    const line = JSON.stringify(frame) + '\n'
    write(frame.id, () => fs.appendFile(fileOf(frame.id), line, { mode: 0o600 }))
  }

  /** Sends what `id` has waiting, oldest first; false when the connection dropped on the way (the rest stays). */
  function flushOne(id: string, q: Queue): boolean {
    if (q.dropped > 0) {
      const last = q.frames.findLast((f): f is LogFrame => f.kind === 'log')
      const note: LogFrame = {
        kind: 'log',
        id,
        seq: (last?.seq ?? 0) + 1,
        stream: 'info',
        level: 'warn',
        line: `${q.dropped} log lines were left out while the master was unreachable (bound ${maxLines})`,
      }
      q.frames.push(note)
      q.dropped = 0
    }
    while (q.frames.length > 0) {
      if (!send(q.frames[0]!)) {
        const rest = q.frames.map((f) => JSON.stringify(f) + '\n').join('')
        write(id, () => writeFileAtomic(fileOf(id), rest))
        return false
      }
      q.frames.shift()
    }
    queues.delete(id)
    write(id, () => fs.rm(fileOf(id), { force: true }))
    return true
  }

  return {
    /** Loads frames a previous run could not send (they are replayed on the next connection). */
    async open(): Promise<void> {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      for (const name of await fs.readdir(dir)) {
        const match = /^([0-9a-f-]{36})\.frames\.jsonl$/.exec(name)
        if (!match) continue
        const frames: StreamFrame[] = []
        for (const text of (await fs.readFile(path.join(dir, name), 'utf8')).split('\n')) {
          if (text.trim() === '') continue
          let value: unknown
          try {
            value = JSON.parse(text)
          } catch (error) {
            // A line cut by the crash itself: the frames before it are whole and kept.
            log.warn({ file: name, err: error }, 'torn outbox line skipped')
            continue
          }
          const parsed = streamFrameSchema.safeParse(value)
          if (parsed.success && parsed.data.id === match[1]) frames.push(parsed.data)
        }
        const lines = frames.filter((f) => f.kind === 'log').length
        if (frames.length > 0) queues.set(match[1]!, { frames, lines, dropped: 0 })
        else await fs.rm(path.join(dir, name), { force: true })
      }
    },

    /** Sends a frame now, or keeps it (behind what the command already has waiting) when it cannot be sent. */
    emit(frame: StreamFrame): void {
      if (!queues.has(frame.id) && send(frame)) return
      enqueue(frame)
    },

    /** Whether `id` still has frames waiting (its result must wait behind them). */
    pending(id: string): boolean {
      return queues.has(id)
    },

    /** The next log seq for `id` after what a previous run emitted (so lines added at recovery keep counting up). */
    lastSeq(id: string): number | undefined {
      return queues.get(id)?.frames.findLast((f): f is LogFrame => f.kind === 'log')?.seq
    },

    /** Replays every waiting frame, command by command in the order they first waited; returns how many commands. */
    flush(): number {
      let flushed = 0
      for (const [id, q] of [...queues]) {
        if (!flushOne(id, q)) break
        flushed++
      }
      return flushed
    },

    /** Waits for pending file writes (tests, shutdown). */
    async settled(): Promise<void> {
      await writing
    },
  }
}

export type Outbox = ReturnType<typeof createOutbox>
