import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** How a wait gives up: after `timeoutMs`, with an error naming `what` and carrying `describe()` (log tails). */
export interface WaitOptions {
  timeoutMs: number
  what: string
  intervalMs?: number
  describe?: () => Promise<string>
}

/** Polls `check` until it returns true. A throwing check (e.g. "the process died") ends the wait at once. */
export async function waitUntil(check: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  const details = async () => (opts.describe ? `\n${await opts.describe()}` : '')
  for (;;) {
    let done: boolean
    try {
      done = await check()
    } catch (error) {
      throw new Error(`while waiting for ${opts.what}: ${(error as Error).message}${await details()}`, { cause: error })
    }
    if (done) return
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${await details()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 100))
  }
}

/** A fresh directory under os.tmpdir(); callers remove it in their stop(). */
export function makeTempDir(name: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `alfa-${name}-`))
}

/** The base names makeTempDir(name) gives (mkdtemp ends the prefix with six characters of its own). */
export const tempDirNames = (name: string): RegExp => new RegExp(`^alfa-${name}-[A-Za-z0-9]{6}$`)

/** The last `lines` lines of a log file, or a note that it does not exist (a process may die before writing). */
export async function tailFile(file: string, lines = 30): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8')
    return `--- ${file} (last ${lines} lines) ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `--- ${file}: not written ---`
    throw error
  }
}

/** Runs argv to completion (no shell); a failure's message carries the argv, exit code and stderr. */
export async function runCommand(
  command: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr })
        // Each stream's own tail: a tool may print its error on stderr and a page of help on stdout after it.
        const last = (text: string) => text.trim().split('\n').slice(-20).join('\n')
        const tail = `stderr:\n${last(stderr)}\nstdout:\n${last(stdout)}`
        reject(
          new Error(
            `${[command, ...args].join(' ')} failed (${error.code ?? error.signal ?? error.message}):\n${tail}`,
          ),
        )
      },
    )
    // A short command may exit before reading stdin: the EPIPE that follows is expected, not a test failure.
    child.stdin?.on('error', () => undefined)
    child.stdin?.end(opts.input ?? '')
  })
}

/** A long-running child whose stdout and stderr go to a log file; stop() escalates to SIGKILL after a timeout. */
export interface ServiceProcess {
  child: ChildProcess
  /** Throws (with the log tail in the message) once the process has exited: readiness waits call it to fail fast. */
  assertRunning(): void
  /** Tails of the process output and of any logs the service writes itself, for error messages. */
  logTail(): Promise<string>
  stop(opts?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<void>
}

export function spawnService(
  name: string,
  command: string,
  args: readonly string[],
  opts: { logPath: string; extraLogs?: readonly string[]; env?: NodeJS.ProcessEnv; cwd?: string },
): ServiceProcess {
  // The child writes straight into the file: no pipe for us to drain, and the log survives the child.
  const fd = openSync(opts.logPath, 'a')
  let child: ChildProcess
  try {
    child = spawn(command, args, {
      stdio: ['ignore', fd, fd],
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    })
  } finally {
    closeSync(fd)
  }
  let exitInfo: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = `exited with ${code ?? signal}`
      resolve()
    })
    child.once('error', (error) => {
      exitInfo = `failed to start: ${error.message}`
      resolve()
    })
  })
  const logTail = async () =>
    (await Promise.all([opts.logPath, ...(opts.extraLogs ?? [])].map((f) => tailFile(f)))).join('\n')

  return {
    child,
    logTail,
    assertRunning() {
      if (exitInfo !== undefined) throw new Error(`${name} (${command}) ${exitInfo}; see its log: ${opts.logPath}`)
    },
    async stop({ signal = 'SIGTERM', timeoutMs = 15_000 } = {}) {
      if (exitInfo !== undefined) return
      child.kill(signal)
      const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, timeoutMs, 'timeout').unref())
      if ((await Promise.race([exited, timer])) === 'timeout') {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}
