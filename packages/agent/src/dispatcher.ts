import {
  exceedsFrameLimit,
  LIMITS,
  parseCommandResult,
  wireError,
  type AgentFrame,
  type CommandFrame,
  type CommandType,
  type ResultFrame,
  type WireError,
} from '@alfa/protocol'
import type { Logger } from 'pino'
import { CommandError, type CommandContext, type HandlerDeps, type LogOptions } from './command-context.ts'
import { ExecError } from './exec.ts'
import type { Journal, JournalResult } from './journal.ts'
import type { Registry } from './registry.ts'

/** Sends a frame if connected; false when it was dropped (the connection is down). */
export type SendFrame = (frame: AgentFrame) => boolean

/** The `result` frame for a stored outcome. */
export function resultFrame(id: string, result: JournalResult): ResultFrame {
  return result.ok
    ? { kind: 'result', id, ok: true, data: result.data }
    : { kind: 'result', id, ok: false, error: result.error }
}

/** The wire error for whatever a handler threw; the deadline wins, because an aborted process fails as a side effect. */
export function toWireError(error: unknown, signal: AbortSignal, deadlineMs: number): WireError {
  if (signal.aborted) return wireError('DEADLINE_EXCEEDED', `the command ran past its deadline of ${deadlineMs} ms`)
  if (error instanceof CommandError) return error.wire
  if (error instanceof ExecError) return error.toWire()
  return wireError('INTERNAL', error instanceof Error ? error.message : String(error))
}

/** Rejects when the signal aborts, so a handler that ignores its signal still ends at the deadline. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([work, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  })
}

/**
 * Runs command frames: at most once per id (the journal decides), acked once stored, streaming log and progress
 * frames while connected, and ending with a result that is journaled first so it survives a lost connection.
 */
export function createDispatcher(opts: {
  journal: Journal
  registry: Registry
  deps: HandlerDeps
  send: SendFrame
  logger: Logger
}) {
  const { journal, registry, deps, send } = opts
  const log = opts.logger.child({ component: 'dispatcher' })
  const running = new Map<string, Promise<void>>()
  let accepting = true

  /** Answers a re-sent id from the journal: the stored result, or an ack while it still runs. */
  function answerKnown(id: string): void {
    const entry = journal.get(id)
    if (entry?.status === 'done' && entry.result) {
      log.info({ commandId: id }, 're-sent command answered from the journal')
      send(resultFrame(id, entry.result))
    } else {
      send({ kind: 'ack', id })
    }
  }

  function makeContext<T extends CommandType>(
    frame: CommandFrame & { type: T },
    signal: AbortSignal,
  ): CommandContext<T> {
    let seq = 0
    const logger = opts.logger.child({ commandId: frame.id, type: frame.type })
    return {
      id: frame.id,
      type: frame.type,
      payload: frame.payload as CommandContext<T>['payload'],
      signal,
      logger,
      log(line: string, o: LogOptions = {}) {
        const text = line.replaceAll('\0', '').slice(0, LIMITS.logLine)
        send({
          kind: 'log',
          id: frame.id,
          seq: seq++,
          stream: o.stream ?? 'info',
          line: text,
          ...(o.step ? { step: o.step } : {}),
          ...(o.level ? { level: o.level } : {}),
        })
      },
      progress(step, status) {
        send({ kind: 'progress', id: frame.id, step, status })
      },
    }
  }

  async function execute(frame: CommandFrame): Promise<void> {
    const handler = registry.get(frame.type)
    if (!handler) return
    const signal = AbortSignal.timeout(frame.deadlineMs)
    const ctx = makeContext(frame, signal)
    let result: JournalResult
    try {
      const data = await raceAbort(handler(ctx, deps), signal)
      const checked = parseCommandResult(frame.type, data)
      result = checked.ok
        ? { ok: true, data: checked.result }
        : { ok: false, error: wireError('INTERNAL', `agent produced an ${checked.error.message}`) }
    } catch (error) {
      result = { ok: false, error: toWireError(error, signal, frame.deadlineMs) }
      ctx.logger.warn({ err: error, code: result.error.code }, 'command failed')
    }
    if (exceedsFrameLimit(JSON.stringify(resultFrame(frame.id, result)))) {
      result = { ok: false, error: wireError('INTERNAL', 'the result is larger than a frame may be') }
    }
    // Journal before sending: if the socket is down now, the result is re-sent after reconnect.
    await journal.complete(frame.id, result)
    ctx.logger.info({ ok: result.ok }, 'command finished')
    send(resultFrame(frame.id, result))
  }

  return {
    /** Handles one parsed command frame; resolves when it was stored and acked (not when it finished). */
    async handle(frame: CommandFrame): Promise<void> {
      if (!accepting) {
        log.warn({ commandId: frame.id, type: frame.type }, 'stopping: command not taken (the master will re-send it)')
        return
      }
      if (journal.get(frame.id)) return answerKnown(frame.id)
      if (!registry.get(frame.type)) {
        log.warn({ commandId: frame.id, type: frame.type }, 'no handler for command type')
        send({
          kind: 'error',
          error: wireError('UNKNOWN_COMMAND', `this agent has no handler for ${frame.type}`),
          refId: frame.id,
        })
        return
      }
      if (!(await journal.begin(frame.id, frame.type))) return answerKnown(frame.id)
      send({ kind: 'ack', id: frame.id })
      const work = execute(frame)
        .catch((error: unknown) => log.error({ err: error, commandId: frame.id }, 'could not record a command result'))
        .finally(() => running.delete(frame.id))
      running.set(frame.id, work)
    },

    /** The master stored a result: the journal stops re-sending it. */
    async ack(id: string): Promise<void> {
      await journal.ack(id)
    },

    /** Re-sends every finished result the master has not acknowledged (after a reconnect). */
    resendUnacked(): number {
      const pending = journal.unackedResults()
      for (const entry of pending) if (entry.result) send(resultFrame(entry.id, entry.result))
      return pending.length
    },

    get runningCount(): number {
      return running.size
    },

    /** Stops taking new commands and waits up to `timeoutMs` for running ones; true when all finished. */
    async drain(timeoutMs: number): Promise<boolean> {
      accepting = false
      if (running.size === 0) return true
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const finished = Promise.allSettled([...running.values()]).then(() => true as const)
      const done = await Promise.race([finished, timedOut])
      clearTimeout(timer)
      return done
    },
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>
