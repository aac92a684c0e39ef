import { commandFrame, LARAVEL_PROFILE, type AgentFrame } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import type { CommandHandler } from './command-context.ts'
import { createDispatcher } from './dispatcher.ts'
import { createJournal, type Journal } from './journal.ts'
import { createOutbox } from './outbox.ts'
import { registryFrom } from './registry.ts'
import { newId, silentLogger, testHandlerDeps, useTempDir, waitFor } from './test-helpers.ts'

/** The result goes out while it is journaled (its fsync is off the answer's path), and is on disk afterwards. */
describe('dispatcher: the result is sent while it is journaled', () => {
  const tempDir = useTempDir('dispatcher-result')

  it('sends the result before its journal write ends; the master may ack it meanwhile and that ack stays', async () => {
    const dir = tempDir()
    const real = createJournal({ dir, logger: silentLogger })
    await real.open()
    // The result's write held until the test releases it, as a slow fsync would hold it.
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let completing = 0
    const journal: Journal = {
      ...real,
      complete: async (...args) => {
        const write = real.complete(...args)
        completing++
        await held
        await write
      },
    }
    const sent: AgentFrame[] = []
    const send = (frame: AgentFrame) => (sent.push(frame), true)
    const outbox = createOutbox({ dir, send, logger: silentLogger })
    await outbox.open()
    const restart: CommandHandler<'client.restart'> = async () => ({ healthy: true })
    const registry = registryFrom({ 'client.restart': restart })
    const deps = testHandlerDeps(dir)
    const dispatcher = createDispatcher({ journal, registry, deps, send, outbox, logger: silentLogger })

    const payload = { slug: 'lab-a', domain: 'lab-a.test', profile: LARAVEL_PROFILE }
    const frame = commandFrame(newId(), 'client.restart', payload, 5_000)
    await dispatcher.handle(frame)
    await waitFor(() => sent.find((f) => f.kind === 'result'), 2_000, 'the result')
    expect(completing).toBe(1) // its write still held
    expect(sent.map((f) => f.kind)).toEqual(['ack', 'result'])
    expect(sent[1]).toMatchObject({ ok: true, data: { healthy: true } })
    // The master's ack comes back before the write ended: the entry ends acked on disk.
    const acked = dispatcher.ack(frame.id)
    release()
    await acked
    await waitFor(() => dispatcher.runningCount === 0 || undefined, 2_000, 'the command to end')
    const reopened = createJournal({ dir, logger: silentLogger })
    await reopened.open()
    expect(reopened.get(frame.id)).toMatchObject({ status: 'done', acked: true, result: { ok: true } })
  })
})
