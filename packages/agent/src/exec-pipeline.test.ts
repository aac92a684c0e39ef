import { randomBytes } from 'node:crypto'
import { PassThrough, Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { execFailure } from './test-helpers.ts'
import { execPipeline } from './exec-pipeline.ts'

const failure = execFailure

/** A sink that keeps what it gets, and says whether it was ended (a whole output) or destroyed (a failed one). */
function collector() {
  const chunks: Buffer[] = []
  const state = { ended: false, destroyed: false }
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk)
      done()
    },
    final(done) {
      state.ended = true
      done()
    },
    destroy(error, done) {
      state.destroyed = true
      done(error)
    },
  })
  return { sink, state, bytes: () => Buffer.concat(chunks) }
}

describe('execPipeline', () => {
  it('joins the programs by pipes: what goes in comes out of the last one, and the sink is ended', async () => {
    const input = randomBytes(3 * 1024 * 1024)
    const out = collector()
    await execPipeline([{ argv: ['zstd', '-1', '-q', '-c'] }, { argv: ['zstd', '-d', '-q', '-c'] }], {
      stdinStream: Readable.from([input.subarray(0, 1000), input.subarray(1000)]),
      stdoutTo: out.sink,
    })
    expect(out.bytes().equals(input)).toBe(true)
    expect(out.state.ended).toBe(true)
  })

  it('passes argv as it is, never through a shell', async () => {
    const out = collector()
    await execPipeline([{ argv: ['/bin/echo', 'a; rm -rf /', '$(id)'] }, { argv: ['cat'] }], { stdoutTo: out.sink })
    expect(out.bytes().toString()).toBe('a; rm -rf / $(id)\n')
  })

  it('blames a downstream stage that failed, not the upstream one that lost its reader', async () => {
    const out = collector()
    const input = new PassThrough()
    input.end(Buffer.alloc(4 * 1024 * 1024, 'x'))
    const error = await failure(
      execPipeline(
        [{ argv: ['cat'] }, { argv: ['/bin/sh', '-c', 'head -c 10 >/dev/null; echo refused >&2; exit 4'] }],
        {
          stdinStream: input,
          stdoutTo: out.sink,
        },
      ),
    )
    // cat, whose reader died, may fail too (its write gets ECONNRESET): it is named, not blamed.
    expect(error.message).toMatch(/^\/bin\/sh exited with code 4 \(in cat \| \/bin\/sh(; cat failed too)?\)$/)
    expect(error.exitCode).toBe(4)
    expect(error.stderrTail).toBe('refused\n')
    expect(out.state).toEqual({ ended: false, destroyed: true })
  })

  it('blames an upstream stage that failed, although the later ones exited 0 on what they got', async () => {
    const out = collector()
    const error = await failure(
      execPipeline([{ argv: ['cat', '/nonexistent/alfa-pipeline'] }, { argv: ['cat'] }], { stdoutTo: out.sink }),
    )
    expect(error.message).toMatch(/^cat exited with code 1/)
    expect(error.argv).toEqual(['cat', '/nonexistent/alfa-pipeline'])
    expect(error.stderrTail).toMatch(/No such file/)
    expect(out.state).toEqual({ ended: false, destroyed: true })
  })

  it('reports a program that cannot start, with no exit code', async () => {
    const error = await failure(execPipeline([{ argv: ['cat'] }, { argv: ['/nonexistent/alfa-no-such-program'] }]))
    expect(error.message).toMatch(/could not start/)
    expect(error.exitCode).toBeNull()
  })

  it('stops every stage when aborted, and when its sink fails', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const started = Date.now()
    const aborted = await failure(
      execPipeline([{ argv: ['sleep', '30'] }, { argv: ['cat'] }], { signal: controller.signal }),
    )
    expect(aborted.message).toMatch(/stopped: aborted/)
    expect(aborted.exitCode).toBeNull()
    expect(Date.now() - started).toBeLessThan(10_000)

    const failing = new Writable({ write: (_c, _e, done) => done(new Error('relay gone')) })
    const lost = await failure(execPipeline([{ argv: ['yes'] }, { argv: ['cat'] }], { stdoutTo: failing }))
    expect(lost.message).toMatch(/stopped: its output failed \(relay gone\)/)
    expect(lost.exitCode).toBeNull()
  })

  it('fails on a cut input even though every program exits 0 on the part it got', async () => {
    const input = new PassThrough()
    input.write('partial')
    setTimeout(() => input.destroy(new Error('connection reset')), 50)
    const error = await failure(execPipeline([{ argv: ['cat'] }, { argv: ['cat'] }], { stdinStream: input }))
    expect(error.message).toMatch(/stopped: its input failed/)
  })

  it('keeps secrets out of argv and messages', async () => {
    const error = await failure(
      execPipeline([{ argv: ['cat', '/nonexistent/S3cret-Token'] }, { argv: ['cat'] }], { redact: ['S3cret-Token'] }),
    )
    expect(error.argv).toEqual(['cat', '/nonexistent/[redacted]'])
    expect(error.message + error.stderrTail).not.toContain('S3cret-Token')
  })
})
