// The agents' WebSocket endpoint against a peer that holds a valid credential but misbehaves: a frame over
// MAX_FRAME_BYTES is refused by closing (1009) before it is buffered whole, a peer that stops answering pings is
// dropped after two heartbeats, and frames about another server's command are refused. Real master, raw `ws` client (the fake agent answers correctly, so it cannot).
import { MAX_FRAME_BYTES } from '@alfa/protocol'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { helloFrameText } from '../../bench/lib/sim-frames.ts'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'
import { reportSecurityCases, securityCase } from './report.ts'

reportSecurityCases()
let m: LiveMaster

beforeAll(async () => {
  m = await startLiveMaster()
})
afterAll(async () => {
  await m?.stop()
})

/** A raw connection as the enrolled agent: hello sent, welcome awaited; pongs only when `autoPong`. */
async function rawAgent(serverId: string, credential: string, autoPong: boolean) {
  const ws = new WebSocket(m.master.url.replace(/^http/, 'ws') + '/agent', {
    headers: { Authorization: `Bearer ${credential}` },
    autoPong,
  })
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    ws.once('close', (code) => resolve({ code, at: Date.now() })),
  )
  let welcomed = false
  ws.on('message', (data) => {
    if (data.toString().includes('"welcome"')) welcomed = true
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.send(helloFrameText(serverId))
  await waitUntil(() => welcomed, { timeoutMs: 10_000, what: 'the welcome' })
  return { ws, closed }
}

describe('agent WebSocket: frame size and silent peers', () => {
  securityCase('a frame over MAX_FRAME_BYTES from an enrolled agent closes its socket with 1009', async () => {
    const a = await m.addAgent('ws-big')
    await a.agent.close()
    const { ws, closed } = await rawAgent(a.serverId, a.credential, true)
    ws.on('error', () => undefined) // the master's close may race our write: the close code is what is checked
    ws.send('x'.repeat(MAX_FRAME_BYTES + 1))
    expect((await closed).code).toBe(1009)
  })

  securityCase('an enrolled agent that stops answering pings is dropped after two heartbeats', async () => {
    const a = await m.addAgent('ws-silent')
    await a.agent.close()
    const { closed } = await rawAgent(a.serverId, a.credential, false)
    const since = Date.now()
    // Heartbeats are 2 s in the live master: dropped after ~4 s of silence; 30 s is only the give-up bound.
    const end = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))])
    expect(end, 'the master kept a silent peer for 30 s').toBeDefined()
    console.log(`silent peer dropped ${end!.at - since} ms after its welcome (close code ${end!.code})`)
    await waitUntil(async () => (await m.api('GET', `/servers/${a.serverId}`)).json.data.attributes.online === false, {
      timeoutMs: 15_000,
      what: 'the server shown offline',
    })
  })

  securityCase("frames about another server's command (result, log, ack) are refused and change nothing", async () => {
    const victim = await m.addAgent('ws-victim', { 'server.reboot': () => 'hold' })
    const thief = await m.addAgent('ws-thief')
    const started = await m.api('POST', `/servers/${victim.serverId}/reboot_server`)
    expect(started.status).toBe(202)
    const opId: string = started.json.data.id
    const command = await victim.agent.waitForCommand('server.reboot')
    // The thief, authenticated as its own server, answers the victim's command and writes into its log.
    thief.agent.send({ kind: 'ack', id: command.id })
    thief.agent.send({ kind: 'log', id: command.id, seq: 0, stream: 'stdout', line: 'planted by another server' })
    thief.agent.send({ kind: 'result', id: command.id, ok: false, error: { code: 'INTERNAL', message: 'planted' } })
    const refusals = () =>
      thief.agent.received.filter(
        (f) => f.kind === 'error' && f.refId === command.id && f.error.code === 'FORBIDDEN_SERVER',
      ).length
    await waitUntil(() => refusals() >= 3, { timeoutMs: 10_000, what: 'the three frames refused' })
    let op = (await m.api('GET', `/operations/${opId}`)).json.data.attributes
    expect(op.status).toBe('running')
    expect(JSON.stringify(op.log)).not.toContain('planted')
    // The real agent's result still decides the operation.
    victim.agent.reply(command.id, { ok: true, data: { requestedAt: Date.now() } })
    await waitUntil(async () => (await m.api('GET', `/operations/${opId}`)).json.data.attributes.status !== 'running', {
      timeoutMs: 10_000,
      what: 'the operation to end',
    })
    op = (await m.api('GET', `/operations/${opId}`)).json.data.attributes
    expect(op.status).toBe('succeeded')
    expect(JSON.stringify(op.log)).not.toContain('planted')
  })
})
