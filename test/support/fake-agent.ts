// An in-process agent for master tests: a real WebSocket client speaking the protocol to a real master, answering
// each command type as the test scripts it (the mirror image of packages/agent/src/test-fake-master.ts).
import {
  COMMAND_TYPES,
  encodeFrame,
  parseMasterFrame,
  PROTOCOL_VERSION,
  wireError,
  type AgentFrame,
  type CommandFrame,
  type CommandType,
  type MasterFrame,
  type WireError,
} from '@alfa/protocol'
import WebSocket from 'ws'
import { waitUntil } from './process.ts'

/** What the fake agent answers a command with; 'hold' answers nothing (the test answers later, or never). */
export type FakeReply = { ok: true; data: unknown } | { ok: false; error: WireError } | 'hold'
export type FakeScript = Partial<Record<CommandType, (frame: CommandFrame) => FakeReply | Promise<FakeReply>>>

/** Valid results for the commands the tests run, so an unscripted command succeeds like a healthy agent's. */
export function defaultReply(frame: CommandFrame): FakeReply {
  const ok = (data: unknown): FakeReply => ({ ok: true, data })
  switch (frame.type) {
    case 'client.create': {
      const p = frame.payload
      return ok({
        containerId: 'c'.repeat(64),
        containerName: `alfa-${p.slug}`,
        dbName: `alfa_${p.slug.replaceAll('-', '_')}`,
        siteFile: `/etc/nginx/conf.d/${p.slug}.conf`,
        url: `http://${p.domain}/`,
        tls: false,
      })
    }
    case 'client.delete':
      return ok({ dumpPath: null, removed: { container: true, site: true, database: true } })
    case 'client.configure':
      return ok({ maintenance: frame.payload.settings.maintenance, expired: frame.payload.expired })
    case 'client.switch':
      return ok({ containerId: 'd'.repeat(64), image: frame.payload.image, version: null })
    case 'client.restart':
      return ok({ healthy: true })
    case 'client.app':
      return ok({ exitCode: 0 })
    case 'image.list':
      return ok({ images: [] })
    case 'server.reboot':
      return ok({ requestedAt: Date.now() })
    case 'test.sleep':
      return frame.payload.fail
        ? { ok: false, error: wireError('INTERNAL', 'test.sleep asked to fail') }
        : ok({ sleptMs: frame.payload.ms })
    default:
      return { ok: false, error: wireError('UNSUPPORTED', `the fake agent does not run ${frame.type}`) }
  }
}

export async function connectFakeAgent(opts: {
  /** The master's base URL (http://host:port). */
  url: string
  credential: string
  serverId: string
  script?: FakeScript
  /** Command ids reported in hello as running or answered without an ack. */
  inFlight?: string[]
  /** Announced in hello; default: the command types only, as an agent older than PAYLOAD_FEATURES announces. */
  capabilities?: string[]
}) {
  const commands: CommandFrame[] = []
  const received: MasterFrame[] = []
  const ws = new WebSocket(opts.url.replace(/^http/, 'ws') + '/agent', {
    headers: { Authorization: `Bearer ${opts.credential}` },
  })
  const send = (frame: AgentFrame) => ws.readyState === WebSocket.OPEN && ws.send(encodeFrame(frame))

  function reply(id: string, answer: Exclude<FakeReply, 'hold'>) {
    send(
      answer.ok
        ? { kind: 'result', id, ok: true, data: answer.data }
        : { kind: 'result', id, ok: false, error: answer.error },
    )
  }

  ws.on('message', (data) => {
    const parsed = parseMasterFrame(data.toString())
    if (!parsed.ok) throw new Error(`the master sent an invalid frame: ${parsed.error.message}`)
    const frame = parsed.frame
    received.push(frame)
    if (frame.kind !== 'command') return
    commands.push(frame)
    send({ kind: 'ack', id: frame.id })
    const script = opts.script?.[frame.type] ?? defaultReply
    void Promise.resolve(script(frame)).then((answer) => {
      if (answer !== 'hold') reply(frame.id, answer)
    })
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  send({
    kind: 'hello',
    agentVersion: '0.1.0',
    protocolVersion: PROTOCOL_VERSION,
    serverId: opts.serverId,
    capabilities: opts.capabilities ?? [...COMMAND_TYPES],
    inFlight: opts.inFlight ?? [],
  })
  await waitUntil(() => received.some((f) => f.kind === 'welcome'), { timeoutMs: 10_000, what: 'the welcome' })

  return {
    commands,
    received,
    /** Sends the result of a held command (or a late one, after a reconnect). */
    reply,
    /** Sends any frame as the agent would (log lines, a replay after a reconnect). */
    send,
    /** Waits until `n` commands of the type arrived; returns the last of them. */
    async waitForCommand(type: CommandType, n = 1): Promise<CommandFrame> {
      await waitUntil(() => commands.filter((c) => c.type === type).length >= n, {
        timeoutMs: 10_000,
        what: `${n} ${type} command(s)`,
      })
      return commands.filter((c) => c.type === type).at(n - 1)!
    },
    /** Drops the connection without a close handshake, like a lost network. */
    drop(): Promise<void> {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      ws.terminate()
      return closed
    },
    close(): Promise<void> {
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      ws.close(1000, 'test done')
      return closed
    },
  }
}

export type FakeAgent = Awaited<ReturnType<typeof connectFakeAgent>>
