import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { REPO_ROOT } from '../support/cluster.ts'
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from '../support/process.ts'

/**
 * The real agent process against a scripted master: the same command id is sent again on the same connection and
 * after a reconnect, and the agent's side effect (a marker line per real run) is counted.
 */
describe('agent command idempotency (real agent process)', () => {
  let wss: WebSocketServer
  let agent: ServiceProcess
  let stateDir: string
  const sockets: WebSocket[] = []
  const received: { kind: string; id?: string; ok?: boolean; data?: { runs?: number } }[] = []
  const serverId = randomUUID()

  beforeAll(async () => {
    const dir = await makeTempDir('alfa-idem')
    stateDir = path.join(dir, 'state')
    await mkdir(stateDir, { recursive: true, mode: 0o700 })
    await writeFile(path.join(stateDir, 'credential'), 'C'.repeat(43) + '\n', { mode: 0o600 })
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((r) => wss.on('listening', r))
    const port = (wss.address() as AddressInfo).port
    await writeFile(
      path.join(stateDir, 'identity.json'),
      JSON.stringify({ serverId, masterUrl: `http://127.0.0.1:${port}` }),
      { mode: 0o600 },
    )
    wss.on('connection', (ws) => {
      sockets.push(ws)
      ws.on('message', (d) => {
        const frame = JSON.parse(d.toString())
        received.push(frame)
        if (frame.kind === 'hello')
          ws.send(JSON.stringify({ kind: 'welcome', serverId, protocolVersion: 1, heartbeatMs: 2000 }))
      })
    })
    agent = spawnService('agent', process.execPath, ['--import', 'tsx', 'packages/agent/bin/alfa-agent.ts', 'run'], {
      logPath: path.join(dir, 'agent.log'),
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ALFA_AGENT_STATE_DIR: stateDir,
        ALFA_AGENT_TEST_COMMANDS: '1',
        ALFA_AGENT_BACKOFF_BASE_MS: '100',
        ALFA_AGENT_BACKOFF_MAX_MS: '500',
        ALFA_AGENT_METRICS_INTERVAL_MS: '60000',
      },
    })
    await waitUntil(() => received.some((f) => f.kind === 'hello'), {
      timeoutMs: 30_000,
      what: 'the agent to say hello',
      describe: () => agent.logTail(),
    })
  })
  afterAll(async () => {
    await agent?.stop()
    wss?.close()
  })

  it('runs a command id once, answering repeats from its journal, across a reconnect', async () => {
    const id = randomUUID()
    const frame = JSON.stringify({
      kind: 'command',
      id,
      type: 'test.sleep',
      payload: { ms: 300, marker: 'idem' },
      deadlineMs: 10_000,
    })
    const results = () => received.filter((f) => f.kind === 'result' && f.id === id)
    sockets.at(-1)!.send(frame)
    sockets.at(-1)!.send(frame)
    await waitUntil(() => results().length >= 1, { timeoutMs: 10_000, what: 'the first result' })
    sockets.at(-1)!.send(frame)
    await waitUntil(() => results().length >= 2, { timeoutMs: 10_000, what: 'the stored result again' })
    // Drop the connection without acknowledging: the agent comes back, reports the id, and re-sends the result.
    const before = sockets.length
    sockets.at(-1)!.terminate()
    await waitUntil(() => sockets.length > before && received.filter((f) => f.kind === 'hello').length >= 2, {
      timeoutMs: 10_000,
      what: 'the reconnect',
    })
    sockets.at(-1)!.send(frame)
    await waitUntil(() => results().length >= 3, { timeoutMs: 10_000, what: 'results after the reconnect' })
    expect(results().every((r) => r.ok === true && r.data?.runs === 1)).toBe(true)
    const lastHello = received.filter((f) => f.kind === 'hello').at(-1) as unknown as { inFlight: string[] }
    expect(lastHello.inFlight).toContain(id)
    // Acknowledged: it is no longer reported in flight on the next connection.
    sockets.at(-1)!.send(JSON.stringify({ kind: 'ack', id }))
    await new Promise((r) => setTimeout(r, 300))
    sockets.at(-1)!.terminate()
    await waitUntil(() => received.filter((f) => f.kind === 'hello').length >= 3, {
      timeoutMs: 10_000,
      what: 'another reconnect',
    })
    expect(
      (received.filter((f) => f.kind === 'hello').at(-1) as unknown as { inFlight: string[] }).inFlight,
    ).not.toContain(id)
    const { readFile } = await import('node:fs/promises')
    const runs = (await readFile(path.join(stateDir, 'test-markers', 'idem.log'), 'utf8')).split('\n').filter(Boolean)
    expect(runs).toHaveLength(1)
  })

  it('refuses an unknown command type with a typed error and keeps running', async () => {
    const id = randomUUID()
    sockets
      .at(-1)!
      .send(JSON.stringify({ kind: 'command', id, type: 'shell.run', payload: { cmd: 'id' }, deadlineMs: 1000 }))
    await waitUntil(() => received.some((f) => f.kind === 'error' && (f as { refId?: string }).refId === id), {
      timeoutMs: 5_000,
      what: 'the error frame',
    })
    const err = received.find((f) => f.kind === 'error' && (f as { refId?: string }).refId === id) as unknown as {
      error: { code: string }
    }
    expect(err.error.code).toBe('UNKNOWN_COMMAND')
    agent.assertRunning()
  })
})
