import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../test-helpers.ts'
import { streamDump } from './streamed-dump.ts'

const HEADER = '-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n'

/** Reads `body` as a pipe to the relay does (flowing, one 'data' event per chunk pushed); the chunks it saw. */
function drain(body: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  body.on('data', (chunk: Buffer) => chunks.push(chunk))
  return new Promise((resolve, reject) => {
    body.once('end', () => resolve(chunks))
    body.once('error', reject)
  })
}

/** A dump tool that writes `count` pieces of `size` bytes one write at a time, as mysqldump's stdio does. */
function smallWrites(count: number, size: number) {
  const pieces = [Buffer.from(HEADER), ...Array.from({ length: count }, (_, i) => Buffer.alloc(size, 65 + (i % 26)))]
  return {
    pieces,
    tool: {
      async dumpTo(sink: Writable) {
        for (const piece of pieces) if (!sink.write(piece)) await new Promise((r) => sink.once('drain', r))
        sink.end()
      },
      verify: () => Promise.resolve(),
    },
  }
}

describe('streamDump', () => {
  const dir = useTempDir('streamed-dump')
  /** Streams the tool's dump into `dir()/name`; the result and the chunks the send received. */
  async function streamed(tool: Parameters<typeof streamDump>[0], name: string) {
    let got: Buffer[] = []
    const result = await streamDump(tool, 'alfa_demo', dir(), name, async (body) => void (got = await drain(body)))
    return { result, got }
  }

  it('sends small writes on in batches, and the kept copy, bytes and sha256 are those of the whole dump', async () => {
    const { pieces, tool } = smallWrites(1_000, 4096)
    const whole = Buffer.concat(pieces)
    const { result, got } = await streamed(tool, 'demo.sql')
    const received = got.map((chunk) => chunk.length)
    expect(Buffer.concat(got).equals(whole)).toBe(true)
    expect(result.bytes).toBe(whole.length)
    expect(result.sha256).toBe(createHash('sha256').update(whole).digest('hex'))
    expect((await fs.readFile(path.join(dir(), 'demo.sql'))).equals(whole)).toBe(true)
    // 1,001 writes of the tool arrive as 16 batches: every one but the last holds at least 256 KiB.
    expect(received.length).toBeLessThan(20)
    expect(Math.min(...received.slice(0, -1))).toBeGreaterThanOrEqual(256 * 1024)
  })

  it('sends a dump smaller than one batch whole, once the tool has ended', async () => {
    const { pieces, tool } = smallWrites(3, 100)
    const { result, got } = await streamed(tool, 'small.sql')
    expect(got).toHaveLength(1)
    expect(Buffer.concat(got).equals(Buffer.concat(pieces))).toBe(true)
    expect(result.bytes).toBe(Buffer.concat(pieces).length)
  })
})
