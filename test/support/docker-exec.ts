import { PassThrough } from 'node:stream'
import type Docker from 'dockerode'

/** What a command run with `docker exec` produced. */
export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * Runs argv inside a running container (no shell) and waits for it to end. `input`, when given, is written to the
 * command's stdin, which is then closed: how the agent hands the app a password without putting it on argv.
 */
export async function execInContainer(
  docker: Docker,
  container: Docker.Container,
  cmd: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const withInput = opts.input !== undefined
  const exec = await container.exec({
    Cmd: [...cmd],
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: withInput,
    Tty: false,
  })
  // hijack: one raw duplex connection, so stdin can be written and half-closed (EOF) while output still flows.
  const stream = await exec.start({ hijack: true, stdin: withInput })
  const out: Buffer[] = []
  const err: Buffer[] = []
  const stdout = new PassThrough().on('data', (chunk: Buffer) => out.push(chunk))
  const stderr = new PassThrough().on('data', (chunk: Buffer) => err.push(chunk))
  docker.modem.demuxStream(stream, stdout, stderr)
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve).once('close', resolve).once('error', reject)
  })
  if (withInput) stream.end(opts.input)

  const timeoutMs = opts.timeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`docker exec ${cmd.join(' ')}: no end after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([ended, timeout])
    // The stream can end a moment before the daemon records the exit code: poll briefly.
    for (;;) {
      const info = await exec.inspect()
      if (!info.Running && info.ExitCode !== null) {
        return {
          exitCode: info.ExitCode,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), timeout])
    }
  } finally {
    clearTimeout(timer)
    stream.destroy()
  }
}
