import {
  exceedsFrameLimit,
  isReadOnlyCommand,
  LIMITS,
  parseCommandPayload,
  parseCommandResult,
  wireError,
  type AgentFrame,
  type CommandFrame,
  type CommandPayload,
  type CommandType,
} from '@alfa/protocol'
import type { Logger } from 'pino'
import { clientLockKey, createClientLocks, startsWhileJournaled } from './client-locks.ts'
import type { CommandContext, HandlerDeps, LogOptions } from './command-context.ts'
import { resultFrame, toWireError } from './command-outcome.ts'
import { deadlineError, ROLLBACK_GRACE_MS, runWithDeadline } from './deadline.ts'
import type { Journal, JournalEntry, JournalResult } from './journal.ts'
import type { Outbox } from './outbox.ts'
import type { Registry } from './registry.ts'
import { recoverCommand, recoversFromCheckpoints } from './commands/client/recovery.ts'
import { pauseIfAsked } from './test-pause.ts'

/** Sends a frame if connected; false when it was dropped (the connection is down). */
export type SendFrame = (frame: AgentFrame) => boolean

/**
 * Runs command frames: at most once per id (the journal decides), acked once stored, streaming log and progress
 * frames (kept in the outbox while disconnected and replayed before the result), and ending with a result that is
 * journaled first so it survives a lost connection. Commands that change a client run one at a time per client.
 */
export function createDispatcher(opts: {
  journal: Journal
  registry: Registry
  deps: HandlerDeps
  send: SendFrame
  /** Where log and progress frames wait while the master is unreachable. */
  outbox: Outbox
  logger: Logger
  /** How long a handler aborted at its deadline may take to roll back before the deadline is reported. */
  rollbackGraceMs?: number
}) {
  const { journal, registry, deps, send, outbox } = opts
  const graceMs = opts.rollbackGraceMs ?? ROLLBACK_GRACE_MS
  const log = opts.logger.child({ component: 'dispatcher' })
  const running = new Map<string, Promise<void>>()
  const locks = createClientLocks()
  let accepting = true

  /** Sends a finished result; a read-only one is forgotten once it went out, as no ack comes for it. */
  function sendResult(id: string, result: JournalResult): void {
    if (send(resultFrame(id, result))) journal.forget(id)
  }

  /** Answers a re-sent id from the journal: the stored result, or an ack while it still runs. */
  function answerKnown(id: string): void {
    const entry = journal.get(id)
    if (entry?.status === 'done' && entry.result && !outbox.pending(id)) {
      log.info({ commandId: id }, 're-sent command answered from the journal')
      sendResult(id, entry.result)
    } else {
      send({ kind: 'ack', id })
    }
  }

  function makeContext<T extends CommandType>(
    frame: CommandFrame & { type: T },
    payload: CommandPayload<T>,
    signal: AbortSignal,
  ): CommandContext<T> {
    const logger = opts.logger.child({ commandId: frame.id, type: frame.type })
    return {
      id: frame.id,
      type: frame.type,
      payload,
      signal,
      logger,
      log: narratorFor(frame.id).log,
      progress(step, status) {
        outbox.emit({ kind: 'progress', id: frame.id, step, status })
      },
      async checkpoint(facts) {
        if (recoversFromCheckpoints(frame.type)) await journal.record(frame.id, facts)
        await pauseIfAsked(deps.config, frame.type, facts.step, signal)
      },
    }
  }

  /**
   * A command's log lines, queued in the outbox (sent at once when connected, before its result otherwise). The
   * numbering continues after lines an earlier run of this agent left waiting (a recovered command).
   */
  function narratorFor(id: string) {
    let seq = (outbox.lastSeq(id) ?? -1) + 1
    return {
      log(line: string, o: LogOptions = {}) {
        outbox.emit({
          kind: 'log',
          id,
          seq: seq++,
          stream: o.stream ?? 'info',
          line: line.replaceAll('\0', '').slice(0, LIMITS.logLine),
          ...(o.step ? { step: o.step } : {}),
          ...(o.level ? { level: o.level } : {}),
        })
      },
    }
  }

  async function recoverOne(entry: JournalEntry, lock: Promise<() => void> | undefined): Promise<void> {
    const logger = log.child({ commandId: entry.id, type: entry.type })
    const release = await lock
    let result: JournalResult
    try {
      result = (await recoverCommand(entry, narratorFor(entry.id), deps, logger)) ?? {
        ok: false,
        error: wireError('INTERRUPTED', 'the agent stopped while this command was running'),
      }
    } catch (error) {
      logger.error({ err: error }, 'recovery failed')
      const message = `the agent restarted during this command and could not recover it: ${String(error)}`
      result = { ok: false, error: wireError('INTERRUPTED', message) }
    } finally {
      release?.()
    }
    await journal.complete(entry.id, result)
    logger.warn({ ok: result.ok }, 'command ended after an agent restart')
    if (!outbox.pending(entry.id)) sendResult(entry.id, result)
  }

  /** Runs the handler under its deadline (and its client's lock); the outcome as it will be journaled. */
  async function outcomeOf(
    frame: CommandFrame,
    stored: Promise<boolean>,
  ): Promise<{ result: JournalResult; logger: Logger }> {
    // The one check of the payload against its type's schema, before the handler (which takes it as parsed): a
    // frame from the socket passed the same schema already; one handed in any other way is refused here.
    const parsed = parseCommandPayload(frame.type, frame.payload)
    if (!parsed.ok) return { result: { ok: false, error: parsed.error }, logger: log.child({ commandId: frame.id }) }
    const handler = registry.get(frame.type)!
    const key = clientLockKey(frame)
    let ctx: CommandContext<CommandType> | undefined
    const run = runWithDeadline(
      async (signal) => {
        const release = key ? await locks.acquire(key, signal) : undefined
        try {
          // The fault tests' hook (`<type>:start`): hold any command, journaled and acked, before it does anything.
          if (deps.config.testPauseAt === `${frame.type}:start`) await stored
          await pauseIfAsked(deps.config, frame.type, 'start', signal)
          ctx = makeContext(frame, parsed.payload, signal)
          return await handler(ctx, deps)
        } finally {
          release?.()
        }
      },
      frame.deadlineMs,
      graceMs,
    )
    const outcome = await run.outcome
    const logger = ctx?.logger ?? log.child({ commandId: frame.id, type: frame.type })
    if (outcome.kind === 'overran') {
      logger.error({ graceMs }, 'deadline passed and the handler is still rolling back: reporting, client stays locked')
      run.settled.then(
        () => logger.warn('the overrunning handler ended at last'),
        (error: unknown) => logger.error({ err: error }, 'overrunning handler'),
      )
      return { result: { ok: false, error: deadlineError(frame.deadlineMs, false, graceMs) }, logger }
    }
    if (outcome.kind === 'error') {
      const error = toWireError(outcome.error, run.signal, frame.deadlineMs)
      logger.warn({ err: outcome.error, code: error.code }, 'command failed')
      return { result: { ok: false, error }, logger }
    }
    if (run.signal.aborted) return { result: { ok: false, error: deadlineError(frame.deadlineMs, true) }, logger }
    const checked = parseCommandResult(frame.type, outcome.value)
    const result: JournalResult = checked.ok
      ? { ok: true, data: checked.result }
      : { ok: false, error: wireError('INTERNAL', `agent produced an ${checked.error.message}`) }
    return { result, logger }
  }

  /** Runs the command; its result is journaled (and sent) only once `stored` says its begin record is written. */
  async function execute(frame: CommandFrame, stored: Promise<boolean>): Promise<void> {
    const outcome = await outcomeOf(frame, stored)
    const logger = outcome.logger
    let result = outcome.result
    if (exceedsFrameLimit(JSON.stringify(resultFrame(frame.id, result)))) {
      result = { ok: false, error: wireError('INTERNAL', 'the result is larger than a frame may be') }
    }
    // After the begin record (the ack went out with it, so the result follows the ack). Sent while it is journaled
    // (an fsync, 5-15 ms off every answer): complete() holds it in memory at once, so a reconnect meanwhile re-sends
    // it, and a master's ack is written after it. Should the agent die before it is on disk, the master has it: the
    // INTERRUPTED the restarted agent then reports is only logged (a result replaces the master's own ending only).
    await stored
    const journaled = journal.complete(frame.id, result)
    // Frames still waiting go first: the result is sent with them when the connection is back. (complete() holds the
    // result in memory before its first await, so a read-only one sent here is forgotten at once.)
    if (!outbox.pending(frame.id)) sendResult(frame.id, result)
    await journaled
    logger.info({ ok: result.ok }, 'command finished')
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
      // The ack still waits for the begin record: until then the master re-sends the command after a reconnect.
      const stored = journal.begin(frame.id, frame.type, { readOnly: isReadOnlyCommand(frame) }).then((fresh) => {
        if (fresh) send({ kind: 'ack', id: frame.id })
        return fresh
      })
      const start = () => {
        const work = execute(frame, stored)
          .catch((error: unknown) =>
            log.error({ err: error, commandId: frame.id }, 'could not record a command result'),
          )
          .finally(() => running.delete(frame.id))
        running.set(frame.id, work)
      }
      // A command safe to run twice starts while its begin record is written (an fsync, often 5-15 ms): should the
      // agent die before the record is on disk, the master re-sends it and the second run ends in the same state.
      // journal.get() above was checked in this same tick, so the begin claims the id (it is never run twice here).
      const early = startsWhileJournaled(frame.type)
      if (early) start()
      if (!(await stored)) return answerKnown(frame.id)
      if (!early) start()
    },

    /**
     * At start-up (the connection already dialling): ends every command the previous process left running with a
     * step record, finishing or rolling it back under its client's lock (taken at once, so a new command for that
     * client waits), and reports the outcome as its result. Meanwhile hello lists them in flight.
     */
    recoverAll(): Promise<void> {
      const all = journal.toRecover().map((entry) => {
        const slug = entry.recovery?.slug
        const lock =
          typeof slug === 'string' ? locks.acquire(`client:${slug}`, new AbortController().signal) : undefined
        const work = recoverOne(entry, lock).finally(() => running.delete(entry.id))
        running.set(entry.id, work)
        return work
      })
      return Promise.allSettled(all).then(() => undefined)
    },

    /** The master stored a result: the journal stops re-sending it. */
    async ack(id: string): Promise<void> {
      await journal.ack(id)
    },

    /**
     * After a reconnect: replays the log and progress frames kept while disconnected, in order, then re-sends every
     * finished result the master has not acknowledged whose frames have all gone out. Returns the results re-sent.
     */
    resendUnacked(): number {
      outbox.flush()
      const pending = journal.unackedResults().filter((e) => !outbox.pending(e.id))
      for (const entry of pending) if (entry.result) sendResult(entry.id, entry.result)
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
