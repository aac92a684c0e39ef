import { setTimeout as sleep } from 'node:timers/promises'
import type Dockerode from 'dockerode'
import { agentFrameSchema, commandFrame, type AgentFrame } from '@alfa/protocol'
import { beforeEach, describe, expect, it } from 'vitest'
import type { CommandHandler, HandlerDeps } from './command-context.ts'
import { loadAgentConfig } from './config.ts'
import { createDispatcher } from './dispatcher.ts'
import { exec } from './exec.ts'
import { createJournal } from './journal.ts'
import { registryFrom } from './registry.ts'
import { newId, silentLogger, useTempDir, waitFor } from './test-helpers.ts'

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

  async function setup(handlers = {}) {
    const journal = createJournal({ dir: tempDir(), logger: silentLogger })
    await journal.open()
    const deps: HandlerDeps = {
      docker: {} as Dockerode,
      exec,
      config: loadAgentConfig({ ALFA_AGENT_STATE_DIR: tempDir() }),
      serverId: newId(),
      now: Date.now,
    }
    const send = (frame: AgentFrame) => {
      // Every frame the agent would put on the wire must pass the master's own schema.
      expect(agentFrameSchema.safeParse(frame).success).toBe(true)
      if (connected) sent.push(frame)
      return connected
    }
    const registry = registryFrom({ 'test.sleep': sleeper, ...handlers })
    return { journal, dispatcher: createDispatcher({ journal, registry, deps, send, logger: silentLogger }) }
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

  it('ends a command at its deadline with DEADLINE_EXCEEDED', async () => {
    const { dispatcher } = await setup()
    const frame = commandFrame(newId(), 'test.sleep', { ms: 2000 }, 50)
    await dispatcher.handle(frame)
    const result = await waitFor(() => resultOf(frame.id), 1500, 'result')
    expect(result).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED' } })
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
