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
      async dump(sink: Writable) {
        for (const piece of pieces) if (!sink.write(piece)) await new Promise((r) => sink.once('drain', r))
        sink.end()
      },
      packed: false,
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

  it("packed: the kept copy is the compressed stream sent, checked to begin with zstd's frame", async () => {
    const packedBytes = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(300_000, 7)])
    let verified = false
    const tool = {
      async dump(sink: Writable) {
        sink.end(packedBytes)
      },
      packed: true,
      // The plain dump's check does not apply: its completion line lies inside the compressed frames.
      verify: () => Promise.resolve(void (verified = true)),
    }
    const { result, got } = await streamed(tool, 'packed.sql.zst')
    expect(Buffer.concat(got).equals(packedBytes)).toBe(true)
    expect(result.bytes).toBe(packedBytes.length)
    expect(result.sha256).toBe(createHash('sha256').update(packedBytes).digest('hex'))
    expect((await fs.readFile(path.join(dir(), 'packed.sql.zst'))).equals(packedBytes)).toBe(true)
    expect(verified).toBe(false)
  })

  it('packed: a copy that does not begin like zstd output is refused and removed', async () => {
    const tool = {
      async dump(sink: Writable) {
        sink.end(Buffer.from(HEADER))
      },
      packed: true,
      verify: () => Promise.resolve(),
    }
    await expect(streamed(tool, 'bad.sql.zst')).rejects.toThrow(/bad\.sql\.zst.*zstd/)
    await expect(fs.stat(path.join(dir(), 'bad.sql.zst'))).rejects.toThrow(/ENOENT/)
  })
})
