import { setTimeout as sleep } from 'node:timers/promises'
import { agentFrameSchema, commandFrame, LARAVEL_PROFILE, type AgentFrame } from '@alfa/protocol'
import { beforeEach, describe, expect, it } from 'vitest'
import type { CommandHandler } from './command-context.ts'
import { createDispatcher } from './dispatcher.ts'
import { createJournal } from './journal.ts'
import { createOutbox } from './outbox.ts'
import { registryFrom } from './registry.ts'
import { newId, silentLogger, testHandlerDeps, useTempDir, waitFor } from './test-helpers.ts'

describe('dispatcher', () => {
  const tempDir = useTempDir('dispatcher')
  let sent: AgentFrame[]
  let calls: number
  let connected: boolean

  const sleeper: CommandHandler<'test.sleep'> = async (ctx) => {
    calls++
    ctx.log('working', { step: 'sleep' })
    ctx.progress('sleep', 'running')
    // Ignores its signal on purpose: the dispatcher must still end it at the deadline.
    await sleep(ctx.payload.ms)
    return { sleptMs: ctx.payload.ms }
  }

  async function setup(handlers = {}, rollbackGraceMs = 300) {
    const journal = createJournal({ dir: tempDir(), logger: silentLogger })
    await journal.open()
    const deps = testHandlerDeps(tempDir())
    const send = (frame: AgentFrame) => {
      // Every frame the agent would put on the wire must pass the master's own schema.
      expect(agentFrameSchema.safeParse(frame).success).toBe(true)
      if (connected) sent.push(frame)
      return connected
    }
    const registry = registryFrom({ 'test.sleep': sleeper, ...handlers })
    const outbox = createOutbox({ dir: tempDir(), send, logger: silentLogger })
    await outbox.open()
    const dispatcher = createDispatcher({
      journal,
      registry,
      deps,
      send,
      outbox,
      logger: silentLogger,
      rollbackGraceMs,
    })
    return { journal, outbox, dispatcher }
  }
  const resultOf = (id: string) => sent.find((f) => f.kind === 'result' && f.id === id)

  beforeEach(() => {
    sent = []
    calls = 0
    connected = true
  })

  it('acks, streams and answers a command, and never runs a duplicate id twice', async () => {
    const { dispatcher } = await setup()
    const frame = commandFrame(newId(), 'test.sleep', { ms: 30 }, 5000)
    await Promise.all([dispatcher.handle(frame), dispatcher.handle(frame)])
    await waitFor(() => resultOf(frame.id), 2000, 'result')
    await dispatcher.handle(frame)
    expect(calls).toBe(1)
    expect(sent.map((f) => f.kind)).toEqual(['ack', 'ack', 'log', 'progress', 'result', 'result'])
    expect(sent.filter((f) => f.kind === 'log')).toMatchObject([{ seq: 0, line: 'working', step: 'sleep' }])
    expect(resultOf(frame.id)).toMatchObject({ ok: true, data: { sleptMs: 30 } })
  })

  it('refuses a payload that fails its schema with INVALID_PAYLOAD, before the handler runs', async () => {
    const { dispatcher } = await setup()
    const frame = commandFrame(newId(), 'test.sleep', { ms: -5 }, 5000)
    await dispatcher.handle(frame)
    await waitFor(() => resultOf(frame.id), 2000, 'result')
    expect(calls).toBe(0)
    expect(resultOf(frame.id)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } })
  })

  it('answers an unregistered type with an UNKNOWN_COMMAND error frame and keeps working', async () => {
    const { dispatcher } = await setup()
    const id = newId()
    await dispatcher.handle(commandFrame(id, 'image.list', {}, 5000))
    expect(sent).toEqual([
      expect.objectContaining({
        kind: 'error',
        refId: id,
        error: expect.objectContaining({ code: 'UNKNOWN_COMMAND' }),
      }),
    ])
    const next = commandFrame(newId(), 'test.sleep', { ms: 1 }, 5000)
    await dispatcher.handle(next)
    await waitFor(() => resultOf(next.id), 2000, 'result')
  })

  it('ends a command that ignores its deadline with DEADLINE_EXCEEDED once the rollback grace is over', async () => {
    const { dispatcher } = await setup()
    const frame = commandFrame(newId(), 'test.sleep', { ms: 2000 }, 50)
    await dispatcher.handle(frame)
    const result = await waitFor(() => resultOf(frame.id), 1500, 'result')
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'DEADLINE_EXCEEDED', message: expect.stringMatching(/rollback was still running/) },
    })
  })

  it('turns a thrown exception into INTERNAL and an invalid result into INTERNAL', async () => {
    const { dispatcher } = await setup({
      'server.info': async () => {
        throw new Error('kaboom')
      },
      'server.reboot': async () => ({ requestedAt: -1 }),
    })
    const [a, b] = [commandFrame(newId(), 'server.info', {}, 5000), commandFrame(newId(), 'server.reboot', {}, 5000)]
    await dispatcher.handle(a)
    await dispatcher.handle(b)
    expect(await waitFor(() => resultOf(a.id))).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'kaboom' },
    })
    expect(await waitFor(() => resultOf(b.id))).toMatchObject({ ok: false, error: { code: 'INTERNAL' } })
  })

  it('keeps a result made while disconnected and re-sends it until acked', async () => {
    const { dispatcher, journal } = await setup()
    const frame = commandFrame(newId(), 'test.sleep', { ms: 20 }, 5000)
    await dispatcher.handle(frame)
    connected = false
    await waitFor(() => (journal.get(frame.id)?.status === 'done' ? true : undefined), 2000, 'journal')
    expect(resultOf(frame.id)).toBeUndefined()
    connected = true
    expect(dispatcher.resendUnacked()).toBe(1)
    expect(resultOf(frame.id)).toMatchObject({ ok: true })
    await dispatcher.ack(frame.id)
    expect(dispatcher.resendUnacked()).toBe(0)
  })

  it('forgets a read-only result once it went out (no ack comes for it), and keeps one made offline until then', async () => {
    const lister: CommandHandler<'image.list'> = async () => ({ images: [] })
    const { dispatcher, journal } = await setup({ 'image.list': lister })
    const online = commandFrame(newId(), 'image.list', {}, 5000)
    await dispatcher.handle(online)
    expect(await waitFor(() => resultOf(online.id))).toMatchObject({ ok: true, data: { images: [] } })
    await waitFor(() => (journal.get(online.id) === undefined ? true : undefined), 2000, 'the result forgotten')
    expect(journal.inFlight()).toEqual([])

    connected = false
    const offline = commandFrame(newId(), 'image.list', {}, 5000)
    await dispatcher.handle(offline)
    await waitFor(() => (journal.get(offline.id)?.status === 'done' ? true : undefined), 2000, 'journal')
    expect(journal.inFlight()).toEqual([offline.id]) // hello names it: the master may still wait for it
    connected = true
    expect(dispatcher.resendUnacked()).toBe(1)
    expect(resultOf(offline.id)).toMatchObject({ ok: true })
    expect(journal.get(offline.id)).toBeUndefined()
    expect(dispatcher.resendUnacked()).toBe(0)
    // A changing command's result still waits for its ack (the test above): forget() never drops one.
    const changing = commandFrame(newId(), 'test.sleep', { ms: 1 }, 5000)
    await dispatcher.handle(changing)
    await waitFor(() => resultOf(changing.id))
    journal.forget(changing.id)
    expect(journal.get(changing.id)).toMatchObject({ status: 'done', acked: false })
  })

  it('stops taking commands while draining and waits for running ones', async () => {
    const { dispatcher } = await setup()
    const frame = commandFrame(newId(), 'test.sleep', { ms: 50 }, 5000)
    await dispatcher.handle(frame)
    expect(await dispatcher.drain(2000)).toBe(true)
    expect(resultOf(frame.id)).toMatchObject({ ok: true })
    await dispatcher.handle(commandFrame(newId(), 'test.sleep', { ms: 1 }, 5000))
    expect(calls).toBe(1)
  })
})

describe('dispatcher: deadlines, client locks and frames kept while disconnected', () => {
  const tempDir = useTempDir('dispatcher-more')
  let sent: AgentFrame[]
  let connected: boolean
  const events: string[] = []
  const slug = 'acme'
  const restartFrame = (deadlineMs: number) =>
    // A valid payload: the dispatcher checks it against its schema before any handler runs.
    commandFrame(newId(), 'client.restart', { slug, domain: 'acme.example.com', profile: LARAVEL_PROFILE }, deadlineMs)

  /** A handler that works until aborted, then spends `rollbackMs` undoing on a signal of its own. */
  const rollingBack: CommandHandler<'client.restart'> = async (ctx) => {
    events.push(`start ${ctx.id}`)
    ctx.log('step one', { step: 'one' })
    ctx.progress('one', 'running')
    try {
      await sleep(ctx.payload.domain === 'slow' ? 10_000 : 400, undefined, { signal: ctx.signal })
    } catch (error) {
      await sleep(250) // the rollback: not cut short by the aborted signal
      events.push(`rolled back ${ctx.id}`)
      throw error
    }
    ctx.progress('one', 'done')
    events.push(`end ${ctx.id}`)
    return { containerId: 'c', statusCode: 200, latencyMs: 1 } as never
  }

  async function setup() {
    const journal = createJournal({ dir: tempDir(), logger: silentLogger })
    await journal.open()
    const send = (frame: AgentFrame) => {
      expect(agentFrameSchema.safeParse(frame).success).toBe(true)
      if (connected) sent.push(frame)
      return connected
    }
    const deps = testHandlerDeps(tempDir())
    const outbox = createOutbox({ dir: tempDir(), send, logger: silentLogger })
    await outbox.open()
    const registry = registryFrom({ 'client.restart': rollingBack })
    const dispatcher = createDispatcher({ journal, registry, deps, send, outbox, logger: silentLogger })
    return { dispatcher, outbox, journal }
  }

  beforeEach(() => {
    sent = []
    connected = true
    events.length = 0
  })

  it('waits for the rollback of a command past its deadline before reporting DEADLINE_EXCEEDED', async () => {
    const { dispatcher } = await setup()
    const frame = restartFrame(50)
    await dispatcher.handle(frame)
    const result = await waitFor(() => sent.find((f) => f.kind === 'result'), 3000, 'result')
    expect(events).toEqual([`start ${frame.id}`, `rolled back ${frame.id}`])
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'DEADLINE_EXCEEDED', message: expect.stringMatching(/stopped and what it made was undone/) },
    })
  })

  it('starts a retry of the same client only after the earlier command rolled back', async () => {
    const { dispatcher } = await setup()
    const first = restartFrame(50)
    const retry = restartFrame(5000)
    await dispatcher.handle(first)
    await sleep(10)
    await dispatcher.handle(retry)
    await waitFor(() => sent.find((f) => f.kind === 'result' && f.id === retry.id), 4000, 'retry result')
    expect(events).toEqual([`start ${first.id}`, `rolled back ${first.id}`, `start ${retry.id}`, `end ${retry.id}`])
  })

  it('keeps log and progress frames made while disconnected and replays them once, in order, before the result', async () => {
    const { dispatcher, outbox } = await setup()
    const frame = restartFrame(5000)
    connected = false
    await dispatcher.handle(frame)
    await waitFor(() => (events.includes(`end ${frame.id}`) ? true : undefined), 3000, 'the end')
    await sleep(20)
    await outbox.settled()
    expect(sent).toEqual([])
    connected = true
    expect(dispatcher.resendUnacked()).toBe(1)
    expect(sent.map((f) => (f.kind === 'progress' ? `${f.kind}:${f.status}` : f.kind))).toEqual([
      'log',
      'progress:running',
      'progress:done',
      'result',
    ])
    // A second reconnect replays nothing again: only the unacked result.
    sent = []
    dispatcher.resendUnacked()
    expect(sent.map((f) => f.kind)).toEqual(['result'])
  })

  it('replays frames a killed agent kept on disk, before the result its journal recovered', async () => {
    const first = await setup()
    const frame = restartFrame(5000)
    connected = false
    await first.dispatcher.handle(frame)
    await waitFor(() => (events.includes(`start ${frame.id}`) ? true : undefined), 3000, 'the start')
    await sleep(20)
    await first.outbox.settled()
    // "Killed": a new journal, outbox and dispatcher over the same directory.
    const second = await setup()
    connected = true
    expect(second.dispatcher.resendUnacked()).toBe(1)
    expect(sent.map((f) => f.kind)).toEqual(['log', 'progress', 'result'])
    expect(sent.at(-1)).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
  })
})
