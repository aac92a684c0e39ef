import { commandFrame, COMMAND_DEADLINES_MS, LARAVEL_PROFILE, type AgentFrame, type CommandType } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { startsWhileJournaled } from './client-locks.ts'
import type { CommandHandler } from './command-context.ts'
import { recoversFromCheckpoints } from './commands/client/recovery.ts'
import { createDispatcher } from './dispatcher.ts'
import { createJournal, type Journal } from './journal.ts'
import { createOutbox } from './outbox.ts'
import { registryFrom } from './registry.ts'
import { newId, silentLogger, testHandlerDeps, useTempDir, waitFor } from './test-helpers.ts'

/** A command safe to run twice starts while its begin record is written; the ack and the result wait for the record. */
describe('dispatcher: repeatable commands start while journaled', () => {
  const tempDir = useTempDir('dispatcher-early')

  async function setup() {
    const real = await (async () => {
      const j = createJournal({ dir: tempDir(), logger: silentLogger })
      await j.open()
      return j
    })()
    // The begin record's write held until the test releases it, as a slow fsync would hold it.
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const journal: Journal = { ...real, begin: async (...args) => (await real.begin(...args), await held, true) }
    const sent: AgentFrame[] = []
    const ran: string[] = []
    const configure: CommandHandler<'client.configure'> = async (ctx) => {
      ran.push(ctx.type)
      return { maintenance: ctx.payload.settings.maintenance, expired: ctx.payload.expired }
    }
    const app: CommandHandler<'client.app'> = async (ctx) => (ran.push(ctx.type), { exitCode: 0 })
    const send = (frame: AgentFrame) => (sent.push(frame), true)
    const outbox = createOutbox({ dir: tempDir(), send, logger: silentLogger })
    await outbox.open()
    const deps = testHandlerDeps(tempDir())
    const registry = registryFrom({ 'client.configure': configure, 'client.app': app })
    const logger = silentLogger
    const dispatcher = createDispatcher({ journal, registry, deps, send, outbox, logger })
    return { dispatcher, journal: real, release, sent, ran }
  }

  it('runs client.configure before its begin record is stored, acks after it, and answers after the ack', async () => {
    const { dispatcher, journal, release, sent, ran } = await setup()
    const settings = { maintenance: true, expireDate: null, turbostart: false, tutorial: false, version: null }
    const payload = { clientId: newId(), slug: 'lab-a', dbEngine: 'mariadb' as const, settings, expired: false }
    const frame = commandFrame(newId(), 'client.configure', payload, 5_000)
    const handled = dispatcher.handle(frame)
    await waitFor(() => ran[0], 2_000, 'the handler to start')
    await new Promise((r) => setTimeout(r, 50))
    // The handler is done, yet nothing went out: no ack before the record, no result before the ack.
    expect(sent).toEqual([])
    release()
    await handled
    await waitFor(() => sent.find((f) => f.kind === 'result'), 2_000, 'the result')
    expect(sent.map((f) => f.kind)).toEqual(['ack', 'result'])
    expect(sent[1]).toMatchObject({ ok: true, data: { maintenance: true, expired: false } })
    expect(journal.get(frame.id)).toMatchObject({ status: 'done', result: { ok: true } })
    expect(ran).toEqual(['client.configure'])
  })

  it('holds a command that is not safe to run twice (a demo seed) until its begin record is stored', async () => {
    const { dispatcher, release, sent, ran } = await setup()
    const payload = {
      slug: 'lab-a',
      action: 'demoSeed' as const,
      profile: LARAVEL_PROFILE,
      dbEngine: 'mariadb' as const,
    }
    const frame = commandFrame(newId(), 'client.app', payload, 5_000)
    const handled = dispatcher.handle(frame)
    await new Promise((r) => setTimeout(r, 50))
    expect(ran).toEqual([])
    release()
    await handled
    await waitFor(() => sent.find((f) => f.kind === 'result'), 2_000, 'the result')
    expect(ran).toEqual(['client.app'])
    expect(sent.map((f) => f.kind)).toEqual(['ack', 'result'])
  })

  it('never starts early a command whose step records a restart recovers (they must not race the begin record)', () => {
    const types = Object.keys(COMMAND_DEADLINES_MS) as CommandType[]
    expect(types.filter(startsWhileJournaled)).toEqual(['client.configure', 'client.restart'])
    for (const type of types.filter(startsWhileJournaled)) expect(recoversFromCheckpoints(type), type).toBe(false)
  })
})
