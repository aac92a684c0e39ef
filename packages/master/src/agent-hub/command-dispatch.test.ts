import { randomBytes } from 'node:crypto'
import type { Command, CommandFrame, MasterFrame } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { createSecretBox } from '../secrets/secret-box.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { AgentConnection } from './agent-connection.ts'
import { createCommandDispatch } from './command-dispatch.ts'
import { sealCommand } from './command-secrets.ts'
import type { CommandTracker } from './command-tracker.ts'

const logger = createLogger({ level: 'silent' })
const box = createSecretBox(randomBytes(32))
const command: Command = { type: 'test.sleep', payload: { ms: 1 } }
const SERVER = '00000000-0000-4000-8000-000000000001'

/**
 * A dispatch whose re-send SELECT answers only when the test says so, over one connection that records what it is
 * sent: the window in which an operation commits while an agent's hello is being answered, made certain.
 */
function rig() {
  const frames: MasterFrame[] = []
  const conn = { serverId: SERVER, logger, send: (f: MasterFrame) => frames.push(f) > 0 }
  let answer!: (rows: unknown[]) => void
  const selected = new Promise<unknown[]>((resolve) => (answer = resolve))
  // The re-send logs each command it sent (a database write); the test decides when that write is done.
  let logged!: () => void
  const logWritten = new Promise<void>((resolve) => (logged = resolve))
  const dispatch = createCommandDispatch({
    sql: { query: () => selected, transaction: () => Promise.reject(new Error('unused')) } as never,
    clock: { now: () => new Date() } as never,
    logger,
    secretBox: box,
    tracker: { remember: () => undefined } as unknown as CommandTracker,
    operations: { logs: { started: () => undefined }, log: () => logWritten } as unknown as OperationService,
    connection: () => conn as unknown as AgentConnection,
    assertOnline: () => undefined,
    onUndelivered: () => undefined,
    slackMs: 0,
  })
  const row = (opId: string, commandId: string) => ({
    id: opId,
    commandId,
    command: sealCommand(command, box),
    deadlineAt: new Date(Date.now() + 60_000),
  })
  const hello = (inFlight: string[] = []) =>
    dispatch.resendPending(conn as unknown as AgentConnection, {
      kind: 'hello',
      agentVersion: '0.1.0',
      protocolVersion: 1,
      serverId: SERVER,
      capabilities: [],
      inFlight,
    })
  const deliver = (opId: string, commandId: string) =>
    dispatch.courier.deliver({ id: opId, serverId: SERVER, commandId }, command, 60_000)
  const sentIds = () => frames.filter((f): f is CommandFrame => f.kind === 'command').map((f) => f.id)
  return { answer, logged, row, hello, deliver, sentIds }
}

describe('command-dispatch', () => {
  it('sends a command delivered during the hello once, though the re-send then finds it running', async () => {
    const r = rig()
    const resent = r.hello()
    r.deliver('op-1', 'cmd-1')
    r.answer([r.row('op-0', 'cmd-0'), r.row('op-1', 'cmd-1')])
    r.logged()
    await resent
    expect(r.sentIds()).toEqual(['cmd-1', 'cmd-0'])
  })

  it('does not deliver again a command the re-send already sent', async () => {
    const r = rig()
    const resent = r.hello()
    r.answer([r.row('op-1', 'cmd-1')])
    await new Promise((resolve) => setImmediate(resolve))
    // The SELECT saw the commit before the delivery that follows it ran: the re-send went first.
    r.deliver('op-1', 'cmd-1')
    r.logged()
    await resent
    expect(r.sentIds()).toEqual(['cmd-1'])
  })

  it('re-sends what the agent does not hold, and delivers normally once the hello is answered', async () => {
    const r = rig()
    const resent = r.hello(['cmd-held'])
    r.answer([r.row('op-held', 'cmd-held'), r.row('op-2', 'cmd-2')])
    r.logged()
    await resent
    r.deliver('op-3', 'cmd-3')
    r.deliver('op-3', 'cmd-3')
    expect(r.sentIds()).toEqual(['cmd-2', 'cmd-3', 'cmd-3'])
  })
})
