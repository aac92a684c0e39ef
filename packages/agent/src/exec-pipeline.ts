import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { EXEC_OUTPUT_CAP, ExecError, redactor, stopOn } from './exec.ts'

/** After SIGTERM on timeout or abort, a stage gets this long before SIGKILL. */
const KILL_GRACE_MS = 2000

/** One program of a pipeline: its argv and, when it needs its own (a password), its environment. */
export interface PipelineStage {
  argv: readonly string[]
  env?: NodeJS.ProcessEnv
}

export interface PipelineOptions {
  /** Kill every stage after this long (SIGTERM, then SIGKILL). */
  timeoutMs?: number
  /** Kill every stage when aborted (the command's deadline). */
  signal?: AbortSignal
  /** Piped into the first stage's stdin, with backpressure; without it that stdin is closed at once. */
  stdinStream?: Readable
  /**
   * Where the last stage's stdout goes, with backpressure; ended only once every stage exited 0, destroyed on any
   * failure, so a reader never takes a cut-short output for whole. Without it the output is discarded.
   */
  stdoutTo?: Writable
  /** Secrets replaced by [redacted] in every argv and message this helper returns. */
  redact?: readonly string[]
}

/** Runs programs joined by pipes (what a shell's `a | b | c` does); the signature drivers receive, for fakes. */
export type ExecPipeline = (stages: readonly PipelineStage[], opts?: PipelineOptions) => Promise<void>

/**
 * `a | b | c` without a shell: each stage's stdout is the next one's stdin (the socket pair Node made for it, handed
 * over), which the agent never reads, so bytes that only pass from one program to the next cost this process
 * nothing. Resolves once every stage exited 0;
 * otherwise rejects with the ExecError of the stage to blame (see finish). The first failure stops the other
 * stages, as do a timeout, an abort, a failed input and a failed sink.
 */
export const execPipeline: ExecPipeline = (stages, opts = {}) => {
  const clean = redactor(opts.redact)
  if (stages.length === 0 || stages.some((s) => s.argv.length === 0))
    return Promise.reject(new Error('execPipeline needs programs'))
  return new Promise<void>((resolve, reject) => {
    const children: ChildProcessWithoutNullStreams[] = []
    const tails: string[] = stages.map(() => '')
    const startErrors: (Error | undefined)[] = stages.map(() => undefined)
    const exits: ({ code: number | null; signal: NodeJS.Signals | null } | undefined)[] = stages.map(() => undefined)
    let stopReason: string | undefined
    let inputError: Error | undefined
    const timers: NodeJS.Timeout[] = []

    const stop = (reason: string) => {
      if (stopReason !== undefined) return
      stopReason = reason
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const force = setTimeout(() => {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }, KILL_GRACE_MS)
      force.unref()
      timers.push(force)
    }

    stages.forEach((stage, i) => {
      const previous = children[i - 1]
      const [program, ...args] = stage.argv as [string, ...string[]]
      const child = spawn(program, args, {
        shell: false,
        env: stage.env ?? process.env,
        // The previous stage's stdout is handed over as this one's stdin: the two programs share the pipe.
        stdio: [previous ? previous.stdout : 'pipe', 'pipe', 'pipe'],
      }) as ChildProcessWithoutNullStreams
      // This process's copy of the read end is closed, so that only the next program reads it (and the writer's
      // writes fail should that program die).
      previous?.stdout.destroy()
      children.push(child)
      child.stderr.on('data', (chunk: Buffer) => {
        tails[i] = (tails[i] + chunk.toString('utf8')).slice(-EXEC_OUTPUT_CAP)
      })
      child.on('error', (error) => {
        startErrors[i] = error
        stop(`${stage.argv[0]} could not start`)
      })
      // A stage that failed stops the rest: its output (or its input) is gone.
      child.on('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGPIPE') stop(`${stage.argv[0]} failed`)
      })
      child.on('close', (code, signal) => {
        exits[i] = { code, signal }
        if (exits.every((e) => e !== undefined)) finish()
      })
    })

    const first = children[0]!
    const last = children[children.length - 1]!
    first.stdin?.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE: the first program exited without reading all of its input; its exit status says whether it failed.
      if (error.code !== 'EPIPE') inputError ??= error
    })
    if (opts.stdinStream) {
      opts.stdinStream.once('error', (error: Error) => {
        // A cut input is this run's failure even if every program exits 0 on the part it got.
        inputError ??= error
        stop('its input failed')
      })
      opts.stdinStream.pipe(first.stdin)
    } else first.stdin?.end()
    const sink = opts.stdoutTo
    if (sink) {
      last.stdout.pipe(sink, { end: false })
      const lost = (error?: Error) => {
        if (exits.every((e) => e !== undefined)) return
        last.stdout.unpipe(sink)
        last.stdout.resume()
        stop(`its output failed (${error ? clean(error.message) : 'closed early'})`)
      }
      sink.once('error', lost)
      sink.once('close', () => lost())
    } else last.stdout.resume()

    const cancelStop = stopOn(opts, stop)

    function finish() {
      cancelStop()
      for (const t of timers) clearTimeout(t)
      // Failed by itself: an exit code, a start failure, or a signal other than SIGPIPE (its reader died) and other
      // than the one this helper sent when it stopped the pipeline. (A stage that answers that SIGTERM with an exit
      // code of its own would count; mysqldump, mysql and zstd do not.)
      const stoppedBy = (sig: NodeJS.Signals | null) =>
        stopReason !== undefined && (sig === 'SIGTERM' || sig === 'SIGKILL')
      const selfFailed = stages
        .map((_, i) => i)
        .filter((i) => {
          const { code, signal } = exits[i]!
          if (startErrors[i] !== undefined || (code !== null && code !== 0)) return true
          return signal !== null && signal !== 'SIGPIPE' && !stoppedBy(signal)
        })
      // To blame: the last of those. A stage whose reader died exits with an error of its own (the pipes Node makes
      // are socket pairs: a write fails with ECONNRESET, no SIGPIPE), upstream of the stage that failed; a stage
      // whose writer failed mostly ends cleanly at its end of input. The others are named beside it.
      const own = selfFailed.length > 0 ? selfFailed[selfFailed.length - 1]! : -1
      const others = selfFailed.filter((i) => i !== own).map((i) => stages[i]!.argv[0])
      const anyFailed = exits.some((e) => e!.code !== 0)
      if (own < 0 && !anyFailed && stopReason === undefined && inputError === undefined) {
        if (!sink) return resolve()
        sink.end((error?: Error | null) =>
          error ? reject(new ExecError(`pipeline output failed: ${clean(error.message)}`, [], 0, '')) : resolve(),
        )
        return
      }
      const names = stages.map((st) => st.argv[0]).join(' | ')
      let failure: ExecError
      if (own >= 0) {
        const argv = stages[own]!.argv.map(clean)
        const exit = exits[own]!
        const startError = startErrors[own]
        const why = startError
          ? `could not start: ${clean(startError.message)}`
          : exit.code === null
            ? `killed by ${exit.signal ?? 'a signal'}`
            : `exited with code ${exit.code}`
        const exitCode = startError || exit.code === null || exit.code < 0 ? null : exit.code
        const tail = clean(startError ? startError.message : tails[own]!)
        const also = others.length > 0 ? `; ${others.join(', ')} failed too` : ''
        failure = new ExecError(`${argv[0]} ${why} (in ${names}${also})`, argv, exitCode, tail)
      } else {
        const why = stopReason ?? (inputError ? `its input failed: ${clean(inputError.message)}` : 'a pipe broke')
        failure = new ExecError(`${names} stopped: ${why}`, stages[0]!.argv.map(clean), null, '')
      }
      sink?.destroy(failure)
      reject(failure)
    }
  })
}
