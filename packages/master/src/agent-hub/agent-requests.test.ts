import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { AgentConnection } from './agent-connection.ts'
import { createAgentRequests } from './agent-requests.ts'

/** A connection whose socket records what is sent. */
function connection(serverId: string) {
  const sent: string[] = []
  const socket = { OPEN: 1, readyState: 1, send: (data: string) => void sent.push(data) } as unknown as WebSocket
  return { conn: new AgentConnection(serverId, socket, pino({ level: 'silent' })), sent }
}

describe('agent requests', () => {
  it('answers INTERRUPTED at once to the requests of a connection that closed, not to those of another', async () => {
    const a = connection('server-a')
    const b = connection('server-b')
    const conns = new Map([
      ['server-a', a.conn],
      ['server-b', b.conn],
    ])
    const requests = createAgentRequests({ connection: (id) => conns.get(id), assertOnline: () => undefined })
    const onA = requests.request('server-a', 'server.info', {}, 60_000)
    const onB = requests.request('server-b', 'server.info', {}, 60_000)
    expect(a.sent).toHaveLength(1)
    requests.closed(a.conn)
    await expect(onA).resolves.toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
    // B's request still waits for its agent's answer.
    const still = await Promise.race([
      onB.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('waiting'), 50)),
    ])
    expect(still).toBe('waiting')
    requests.closed(b.conn)
    await expect(onB).resolves.toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
  })
})
