import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import type { Readable, Writable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { execFailedError, LIMITS, type WireError } from '@alfa/protocol'

/** Output kept per stream: the end of a tool's output is where it says why it failed. */
export const EXEC_OUTPUT_CAP = 64 * 1024
/** After SIGTERM on timeout or abort, a process gets this long before SIGKILL. */
const KILL_GRACE_MS = 2000

export interface ExecOptions {
  /** Kill the process after this long (SIGTERM, then SIGKILL). */
  timeoutMs?: number
  /** Kill the process when aborted (the command's deadline). */
  signal?: AbortSignal
  /** Written to the process's stdin, which is then closed. */
  stdin?: string | Buffer
  /** A file streamed to the process's stdin instead (a database dump: too big to hold in memory). */
  stdinFile?: string
  /** A stream piped to the process's stdin instead, with backpressure (a dump loaded while it arrives). */
  stdinStream?: Readable
  /**
   * Where stdout goes instead of being collected, with backpressure (a dump streamed while it is made). It is ended
   * only once the process exited 0; any failure destroys it, so a reader never takes a cut-short output for whole.
   */
  stdoutTo?: Writable
  /** The full environment of the process (default: the agent's own). */
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Called per output line (redacted), to stream it to the master as `log` frames. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Secrets replaced by [redacted] in every line, output, argv and message this helper returns or reports. */
  redact?: readonly string[]
}

export interface ExecResult {
  /** The last EXEC_OUTPUT_CAP characters of stdout, redacted. */
  stdout: string
  /** The last EXEC_OUTPUT_CAP characters of stderr, redacted. */
  stderr: string
}

/** A process that exited non-zero, died by a signal, timed out or never started. */
export class ExecError extends Error {
  override name = 'ExecError'
  constructor(
    message: string,
    /** The argv with secrets redacted. */
    readonly argv: string[],
    /** The exit code, or null when killed by a signal or never started. */
    readonly exitCode: number | null,
    /** The end of stderr (redacted). */
    readonly stderrTail: string,
  ) {
    super(message)
  }

  /** The EXEC_FAILED wire error this failure reports as. */
  toWire(): WireError {
    return execFailedError(this.message, this.argv, this.exitCode, this.stderrTail)
  }
}

/** Runs argv[0] with argv[1..]; the signature handlers receive through their deps, so tests can pass a fake. */
export type Exec = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>

export function redactor(secrets: readonly string[] = []): (text: string) => string {
  const active = secrets.filter((secret) => secret.length > 0)
  return (text) => active.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), text)
}

/** Calls `stop` once `opts.timeoutMs` has passed or `opts.signal` aborts; returns what cancels both. */
export function stopOn(opts: { timeoutMs?: number; signal?: AbortSignal }, stop: (reason: string) => void) {
  const timeout =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs)
  const onAbort = () => stop('aborted')
  if (opts.signal?.aborted) onAbort()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  return () => {
    clearTimeout(timeout)
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

/** Collects one stream: keeps its tail under the cap and hands complete lines to onLine. */
function outputCollector(onLine: ((line: string) => void) | undefined) {
  const decoder = new StringDecoder('utf8')
  let kept = ''
  let partial = ''
  const emit = (text: string) => {
    partial += text
    let newline = partial.indexOf('\n')
    while (newline >= 0) {
      onLine?.(partial.slice(0, newline).replace(/\r$/, ''))
      partial = partial.slice(newline + 1)
      newline = partial.indexOf('\n')
    }
    // A line longer than the wire allows is sent in pieces rather than held in memory without bound.
    while (partial.length > LIMITS.logLine) {
      onLine?.(partial.slice(0, LIMITS.logLine))
      partial = partial.slice(LIMITS.logLine)
    }
  }
  return {
    push(chunk: Buffer) {
      const text = decoder.write(chunk)
      kept += text
      if (kept.length > 2 * EXEC_OUTPUT_CAP) kept = kept.slice(-EXEC_OUTPUT_CAP)
      emit(text)
    },
    end(): string {
      const rest = decoder.end()
      kept += rest
      emit(rest)
      if (partial !== '') onLine?.(partial)
      partial = ''
      return kept.slice(-EXEC_OUTPUT_CAP)
    },
  }
}

/**
 * Runs a program with an argv array, never through a shell. Built on spawn (execFile's sibling, also shell-less)
 * because execFile buffers all output up to maxBuffer and then kills the process, where we want to keep only the
 * tail and stream lines as they come. Resolves on exit code 0; rejects with ExecError otherwise.
 */
export const exec: Exec = (argv, opts = {}) => {
  const clean = redactor(opts.redact)
  const shownArgv = argv.map(clean)
  const [program, ...args] = argv
  if (program === undefined) return Promise.reject(new Error('exec needs a program'))
  return new Promise<ExecResult>((resolve, reject) => {
    const child = spawn(program, args, {
      shell: false,
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const stdout = outputCollector(opts.onLine && ((line) => opts.onLine?.(clean(line), 'stdout')))
    const stderr = outputCollector(opts.onLine && ((line) => opts.onLine?.(clean(line), 'stderr')))
    let stopReason: string | undefined
    let startError: Error | undefined
    let killTimer: NodeJS.Timeout | undefined

    const stop = (reason: string) => {
      if (stopReason !== undefined || child.exitCode !== null) return
      stopReason = reason
      child.kill('SIGTERM')
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
      killTimer.unref()
    }
    const cancelStop = stopOn(opts, stop)

    const sink = opts.stdoutTo
    if (sink) {
      child.stdout.pipe(sink, { end: false })
      // A sink that fails or closes early (the reader went away) stops the process: its output has nowhere to go.
      const lost = (error?: Error) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.stdout.unpipe(sink)
        child.stdout.resume()
        stop(`stopped: its output failed (${error ? clean(error.message) : 'closed early'})`)
      }
      sink.once('error', lost)
      sink.once('close', () => lost())
    } else child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE: the program exited without reading its input; its exit status tells whether that was a failure.
      if (error.code !== 'EPIPE') startError ??= error
    })
    const input = opts.stdinStream ?? (opts.stdinFile === undefined ? undefined : createReadStream(opts.stdinFile))
    if (input) {
      input.once('error', (error: Error) => {
        // An unreadable or cut input is this run's failure even if the program exits 0 on the part it got.
        startError ??= error
        child.stdin.end()
      })
      input.pipe(child.stdin)
    } else child.stdin.end(opts.stdin)
    child.on('error', (error) => {
      startError = error
    })
    child.on('close', (code, signal) => {
      cancelStop()
      clearTimeout(killTimer)
      const out = clean(stdout.end())
      const err = clean(stderr.end())
      if (code === 0 && stopReason === undefined && startError === undefined) {
        if (!sink) return resolve({ stdout: out, stderr: err })
        sink.end((error?: Error | null) =>
          error
            ? reject(new ExecError(`${shownArgv[0]} output failed: ${clean(error.message)}`, shownArgv, 0, err))
            : resolve({ stdout: out, stderr: err }),
        )
        return
      }
      const why = startError
        ? `could not start: ${clean(startError.message)}`
        : (stopReason ?? (code === null ? `killed by ${signal ?? 'a signal'}` : `exited with code ${code}`))
      // A process that never started reports a negative errno as its code: that is no exit code.
      const exitCode = startError || code === null || code < 0 ? null : code
      const failure = new ExecError(
        `${shownArgv[0]} ${why}`,
        shownArgv,
        exitCode,
        startError ? clean(startError.message) : err,
      )
      sink?.destroy(failure)
      reject(failure)
    })
  })
}
