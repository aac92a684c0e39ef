import { errorFrameSchema } from '@alfa/protocol'
import { PassThrough, Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { execFailure } from './test-helpers.ts'
import { exec, EXEC_OUTPUT_CAP } from './exec.ts'

const failure = execFailure

describe('exec', () => {
  it('runs argv without a shell and returns its output', async () => {
    const { stdout } = await exec(['/bin/echo', 'a; rm -rf /', '$(id)'])
    expect(stdout).toBe('a; rm -rf / $(id)\n')
  })

  it('streams lines of stdout and stderr as they come', async () => {
    const lines: string[] = []
    await exec(['/bin/sh', '-c', 'echo one; echo two >&2; printf three'], {
      onLine: (line, stream) => lines.push(`${stream}:${line}`),
    })
    expect(lines.sort()).toEqual(['stderr:two', 'stdout:one', 'stdout:three'])
  })

  it('rejects a non-zero exit with argv, exit code and stderr tail as EXEC_FAILED', async () => {
    const error = await failure(exec(['/bin/sh', '-c', 'echo boom >&2; exit 3']))
    expect(error.exitCode).toBe(3)
    expect(error.stderrTail).toBe('boom\n')
    const wire = error.toWire()
    expect(wire).toMatchObject({
      code: 'EXEC_FAILED',
      data: { argv: ['/bin/sh', '-c', 'echo boom >&2; exit 3'], exitCode: 3 },
    })
    expect(errorFrameSchema.safeParse({ kind: 'error', error: wire }).success).toBe(true)
  })

  it('reports a program that cannot start with a null exit code', async () => {
    const error = await failure(exec(['/nonexistent/program', 'x']))
    expect(error.exitCode).toBeNull()
    expect(error.message).toContain('could not start')
    expect(errorFrameSchema.safeParse({ kind: 'error', error: error.toWire() }).success).toBe(true)
  })

  it('redacts secrets from output, lines, argv and stderr', async () => {
    const lines: string[] = []
    const secret = 's3cr3t-value'
    const error = await failure(
      exec(['/bin/sh', '-c', `echo pw=${secret}; echo ${secret} >&2; exit 1`], {
        redact: [secret],
        onLine: (l) => lines.push(l),
      }),
    )
    expect(JSON.stringify({ lines, argv: error.argv, stderr: error.stderrTail, message: error.message })).not.toContain(
      secret,
    )
    expect(lines).toContain('pw=[redacted]')
  })

  it('kills a process that runs past its timeout', async () => {
    const started = Date.now()
    const error = await failure(exec(['/bin/sleep', '10'], { timeoutMs: 100 }))
    expect(Date.now() - started).toBeLessThan(3000)
    expect(error.message).toContain('timed out')
    expect(error.exitCode).toBeNull()
  })

  it('kills a process when its signal aborts', async () => {
    const error = await failure(exec(['/bin/sleep', '10'], { signal: AbortSignal.timeout(100) }))
    expect(error.message).toContain('aborted')
  })

  it('feeds stdin and keeps only the tail of large output', async () => {
    const { stdout } = await exec(['/bin/cat'], { stdin: 'x'.repeat(EXEC_OUTPUT_CAP * 3) + 'END' })
    expect(stdout.length).toBe(EXEC_OUTPUT_CAP)
    expect(stdout.endsWith('END')).toBe(true)
  })

  /** A sink that keeps what it gets, and says how it ended: cleanly ('finish') or destroyed (the error). */
  function sink() {
    const chunks: Buffer[] = []
    let ended: 'finish' | Error | undefined
    const w = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk)
        done()
      },
    })
    w.on('finish', () => (ended ??= 'finish'))
    w.on('error', (e) => (ended ??= e))
    return { w, text: () => Buffer.concat(chunks).toString(), ended: () => ended }
  }

  it('streams stdin from a stream and stdout into a sink, ended only after exit 0', async () => {
    const out = sink()
    await exec(['/bin/cat'], { stdinStream: Readable.from(['a', 'b', 'c'.repeat(200_000)]), stdoutTo: out.w })
    expect(out.text()).toBe(`ab${'c'.repeat(200_000)}`)
    expect(out.ended()).toBe('finish')
  })

  it('destroys the sink of a process that fails, so its reader never takes the output for whole', async () => {
    const out = sink()
    const error = await failure(exec(['/bin/sh', '-c', 'printf partial; exit 3'], { stdoutTo: out.w }))
    expect(error.exitCode).toBe(3)
    expect(out.text()).toBe('partial')
    expect(out.ended()).toBeInstanceOf(Error)
  })

  it('stops the process when its sink fails, and when its input stream is cut', async () => {
    const out = sink()
    const running = failure(exec(['/bin/sh', '-c', 'while :; do echo y; done'], { stdoutTo: out.w }))
    setTimeout(() => out.w.destroy(new Error('the reader went away')), 50)
    expect((await running).message).toMatch(/output failed \(the reader went away\)/)
    const input = new PassThrough()
    const cut = failure(exec(['/bin/cat'], { stdinStream: input }))
    input.write('half')
    input.destroy(new Error('cut'))
    expect((await cut).message).toMatch(/cut/)
  })
})
