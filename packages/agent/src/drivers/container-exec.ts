import { PassThrough } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import type Dockerode from 'dockerode'
import { LIMITS } from '@alfa/protocol'
import { ExecError } from '../exec.ts'

/** Output kept per stream for the error message: the end is where a tool says why it failed. */
const TAIL = 16 * 1024

export interface ContainerExecOptions {
  /** Written to the process's stdin, which is then closed (how passwords reach the app: never argv). */
  stdin?: string
  /** Each output line, already redacted. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  redact?: readonly string[]
  timeoutMs?: number
  signal?: AbortSignal
}

function lineSplitter(clean: (text: string) => string, emit: (line: string) => void) {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  let tail = ''
  const flush = (text: string) => {
    partial += text
    tail = (tail + text).slice(-TAIL)
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) emit(clean(line.replace(/\r$/, '')).slice(0, LIMITS.logLine))
  }
  return {
    stream: new PassThrough().on('data', (chunk: Buffer) => flush(decoder.write(chunk))),
    end(): string {
      flush(decoder.end())
      if (partial !== '') emit(clean(partial).slice(0, LIMITS.logLine))
      partial = ''
      return clean(tail)
    },
  }
}

/**
 * Runs argv inside a running container with docker exec (no shell), streaming its lines and resolving on exit 0;
 * anything else rejects with an ExecError (redacted argv, exit code, stderr tail) like a host process would.
 */
export async function execInContainer(
  docker: Dockerode,
  container: Dockerode.Container,
  argv: readonly string[],
  o: ContainerExecOptions = {},
): Promise<void> {
  const secrets = (o.redact ?? []).filter((s) => s !== '')
  const clean = (text: string) => secrets.reduce((out, s) => out.replaceAll(s, '[redacted]'), text)
  const shownArgv = argv.map(clean)
  const withInput = o.stdin !== undefined
  const exec = await container.exec({
    Cmd: [...argv],
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: withInput,
    Tty: false,
  })
  // hijack: one raw duplex connection, so stdin can be half-closed (EOF) while the output still flows.
  const stream = await exec.start({ hijack: true, stdin: withInput })
  const out = lineSplitter(clean, (line) => o.onLine?.(line, 'stdout'))
  const err = lineSplitter(clean, (line) => o.onLine?.(line, 'stderr'))
  docker.modem.demuxStream(stream, out.stream, err.stream)
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve).once('close', resolve).once('error', reject)
      timer = setTimeout(
        () => reject(new ExecError(`${shownArgv[0]} timed out after ${o.timeoutMs} ms`, shownArgv, null, '')),
        o.timeoutMs ?? 600_000,
      )
      onAbort = () => reject(new ExecError(`${shownArgv[0]} aborted`, shownArgv, null, ''))
      if (o.signal?.aborted) onAbort()
      o.signal?.addEventListener('abort', onAbort, { once: true })
      if (withInput) stream.end(`${o.stdin}\n`)
    })
    // The stream can end a moment before the daemon records the exit code.
    for (let i = 0; ; i++) {
      const info = await exec.inspect()
      if (!info.Running && info.ExitCode !== null) {
        const stderrTail = err.end()
        out.end()
        if (info.ExitCode === 0) return
        throw new ExecError(`${shownArgv[0]} exited with code ${info.ExitCode}`, shownArgv, info.ExitCode, stderrTail)
      }
      // Usually there at once or within milliseconds: short waits, so the wait does not add to every app command.
      if (i > 500) throw new ExecError(`${shownArgv[0]}: no exit code from Docker`, shownArgv, null, err.end())
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } finally {
    clearTimeout(timer)
    if (onAbort) o.signal?.removeEventListener('abort', onAbort)
    stream.destroy()
  }
}
