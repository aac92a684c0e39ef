import fs from 'node:fs/promises'
import type { LogFrame, ProgressFrame } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { createOutbox, type StreamFrame } from './outbox.ts'
import { newId, silentLogger, useTempDir } from './test-helpers.ts'

describe('outbox', () => {
  const dir = useTempDir('outbox')
  const line = (id: string, seq: number): LogFrame => ({ kind: 'log', id, seq, stream: 'info', line: `line ${seq}` })
  const step = (id: string, status: ProgressFrame['status']): ProgressFrame => ({
    kind: 'progress',
    id,
    step: 'a',
    status,
  })

  it('keeps at most its bound of lines per command while disconnected, every progress frame, and says what it left out', async () => {
    let connected = false
    const sent: StreamFrame[] = []
    const outbox = createOutbox({
      dir: dir(),
      maxLines: 100,
      logger: silentLogger,
      send: (f) => connected && !!sent.push(f),
    })
    await outbox.open()
    const id = newId()
    outbox.emit(step(id, 'running'))
    for (let seq = 0; seq < 1000; seq++) outbox.emit(line(id, seq))
    outbox.emit(step(id, 'done'))
    await outbox.settled()
    expect((await fs.readFile(`${dir()}/${id}.frames.jsonl`, 'utf8')).split('\n').filter(Boolean)).toHaveLength(102)
    connected = true
    expect(outbox.flush()).toBe(1)
    expect(sent).toHaveLength(103)
    expect(sent.filter((f) => f.kind === 'progress').map((f) => (f as ProgressFrame).status)).toEqual([
      'running',
      'done',
    ])
    expect(sent.at(-1)).toMatchObject({ kind: 'log', line: expect.stringMatching(/^900 log lines were left out/) })
    // Replayed once: nothing left to send, and the file is gone.
    expect(outbox.pending(id)).toBe(false)
    expect(outbox.flush()).toBe(0)
    await outbox.settled()
    expect(await fs.readdir(dir())).toEqual([])
  })

  it('stops replaying where the connection drops and goes on from there next time, in order', async () => {
    let budget = 0
    const sent: StreamFrame[] = []
    const outbox = createOutbox({ dir: dir(), logger: silentLogger, send: (f) => budget-- > 0 && !!sent.push(f) })
    await outbox.open()
    const id = newId()
    for (let seq = 0; seq < 10; seq++) outbox.emit(line(id, seq))
    budget = 4
    outbox.flush()
    expect(outbox.pending(id)).toBe(true)
    outbox.emit(line(id, 10)) // queues behind the rest, even with the connection back
    budget = 100
    outbox.flush()
    expect(sent.map((f) => (f as LogFrame).seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    await outbox.settled()
  })
})
