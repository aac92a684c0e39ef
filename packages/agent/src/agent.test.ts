import fs from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import { commandFrame, metricsFrameSchema } from '@alfa/protocol'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAgent, type Agent } from './agent.ts'
import { loadAgentConfig } from './config.ts'
import { exec } from './exec.ts'
import { createJournal } from './journal.ts'
import { startFakeMaster, startFreezableProxy } from './test-fake-master.ts'
import { makeTempDir, newId, silentLogger, waitFor } from './test-helpers.ts'

const credential = 'c'.repeat(43)

describe('agent', () => {
  let stateDir: string
  let agent: Agent | undefined
  let master: Awaited<ReturnType<typeof startFakeMaster>>
  const serverId = newId()

  function startAgent(port: number, extraEnv: Record<string, string> = {}, secret = credential): Agent {
    const config = loadAgentConfig({
      ALFA_MASTER_URL: `ws://127.0.0.1:${port}`,
      ALFA_AGENT_STATE_DIR: stateDir,
      ALFA_AGENT_TEST_COMMANDS: '1',
      ALFA_AGENT_BACKOFF_BASE_MS: '50',
      ALFA_AGENT_BACKOFF_MAX_MS: '400',
      ALFA_AGENT_METRICS_INTERVAL_MS: '200',
      ALFA_AGENT_HEARTBEAT_MS: '1000',
      ALFA_AGENT_SHUTDOWN_GRACE_MS: '2000',
      ...extraEnv,
    })
    const identity = { serverId, masterUrl: config.masterUrl ?? '' }
    agent = createAgent({ docker: new Docker(), exec, config, identity, credential: secret, logger: silentLogger })
    return agent
  }
  const markerRuns = async (marker: string) =>
    (await fs.readFile(path.join(stateDir, 'test-markers', `${marker}.log`), 'utf8')).split('\n').filter(Boolean).length

  beforeEach(async () => {
    stateDir = await makeTempDir('agent')
    master = await startFakeMaster({ credential, serverId })
  })
  afterEach(async () => {
    await agent?.stop()
    agent = undefined
    await master.close()
    await fs.rm(stateDir, { recursive: true, force: true })
  })

  it('says hello, runs a command with ack, log, progress and result, and sends metrics', async () => {
    await startAgent(master.port).start()
    const [hello] = await waitFor(() => (master.frames('hello').length ? master.frames('hello') : undefined))
    expect(hello).toMatchObject({ serverId, protocolVersion: 1, inFlight: [] })
    expect(hello?.capabilities).toEqual(
      expect.arrayContaining(['server.info', 'image.list', 'container.list', 'server.reboot', 'test.sleep']),
    )

    const id = newId()
    master.send(commandFrame(id, 'test.sleep', { ms: 50, marker: 'first' }, 5000))
    const [result] = await waitFor(() => (master.frames('result').length ? master.frames('result') : undefined))
    expect(result).toMatchObject({ id, ok: true, data: { runs: 1 } })
    const kinds = master.received.map((r) => r.frame.kind).filter((k) => k !== 'metrics')
    expect(kinds).toEqual(['hello', 'ack', 'progress', 'log', 'progress', 'result'])

    const metrics = await waitFor(() => master.frames('metrics')[0])
    expect(metricsFrameSchema.safeParse(metrics).success).toBe(true)
  })

  it('answers server.info from the real host', async () => {
    await startAgent(master.port).start()
    await waitFor(() => master.frames('hello')[0])
    const id = newId()
    master.send(commandFrame(id, 'server.info', {}, 10_000))
    const result = await waitFor(() => master.frames('result')[0], 10_000)
    expect(result).toMatchObject({
      id,
      ok: true,
      data: { dockerVersion: expect.any(String), kernel: expect.any(String) },
    })
  })

  it('reconnects with backoff after the master drops it, re-sends an unacked result and never re-runs the id', async () => {
    await startAgent(master.port).start()
    await waitFor(() => master.frames('hello', 0)[0])
    const id = newId()
    master.send(commandFrame(id, 'test.sleep', { ms: 20, marker: 'once' }, 5000))
    await waitFor(() => master.frames('result', 0)[0])

    master.sockets[0]?.terminate()
    const hello = await waitFor(() => master.frames('hello', 1)[0], 5000, 'second hello')
    expect(hello.inFlight).toEqual([id])
    // Not acked on the first connection: re-sent after the welcome of the second.
    expect(await waitFor(() => master.frames('result', 1)[0])).toMatchObject({ id, ok: true })

    master.send({ kind: 'ack', id })
    master.send(commandFrame(id, 'test.sleep', { ms: 20, marker: 'once' }, 5000))
    await waitFor(() => (master.frames('result', 1).length === 2 ? true : undefined))
    expect(await markerRuns('once')).toBe(1)

    master.sockets[1]?.terminate()
    expect((await waitFor(() => master.frames('hello', 2)[0], 5000, 'third hello')).inFlight).toEqual([])
  })

  it('answers invalid frames with an error frame and keeps the connection', async () => {
    await startAgent(master.port).start()
    await waitFor(() => master.frames('hello')[0])
    const id = newId()
    master.sockets[0]?.send(
      JSON.stringify({ kind: 'command', id, type: 'shell.run', payload: { cmd: 'id' }, deadlineMs: 1000 }),
    )
    master.sockets[0]?.send('not json')
    const errors = await waitFor(() => (master.frames('error').length === 2 ? master.frames('error') : undefined))
    expect(errors[0]).toMatchObject({ refId: id, error: { code: 'UNKNOWN_COMMAND' } })
    expect(errors[1]).toMatchObject({ error: { code: 'INVALID_FRAME' } })
    master.send(commandFrame(newId(), 'test.sleep', { ms: 1 }, 5000))
    await waitFor(() => master.frames('result')[0])
  })

  it('retries a refused credential near the maximum backoff', async () => {
    await startAgent(master.port, {}, 'w'.repeat(43)).start()
    await waitFor(() => (master.refusals.length >= 3 ? true : undefined), 5000, 'three refusals')
    const gaps = master.refusals.slice(1).map((t, i) => t - (master.refusals[i] ?? 0))
    // atCap draws between max/2 and max (400 ms here), never the fast early delays of a fresh backoff.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(180)
    expect(master.frames('hello')).toEqual([])
  })

  it('drops a half-open connection after two silent heartbeats and reconnects', async () => {
    const proxy = await startFreezableProxy(master.port)
    try {
      await startAgent(proxy.port).start()
      await waitFor(() => master.frames('hello', 0)[0])
      const closed = new Promise<number>((resolve) => master.sockets[0]?.once('close', () => resolve(Date.now())))
      proxy.freeze()
      const frozenAt = Date.now()
      // The agent pings every second (the welcome's heartbeatMs) and gives up after two silent intervals, counted
      // from the last traffic, which came at most one interval before the freeze.
      const silentFor = (await closed) - frozenAt
      expect(silentFor).toBeGreaterThanOrEqual(1000)
      expect(silentFor).toBeLessThan(4000)
      await waitFor(() => master.frames('hello', 1)[0], 3000, 'hello after half-open')
    } finally {
      await proxy.close()
    }
  })

  it('reports a command that was running when the agent died as INTERRUPTED', async () => {
    const id = newId()
    const crashed = createJournal({ dir: path.join(stateDir, 'journal'), logger: silentLogger })
    await crashed.open()
    await crashed.begin(id, 'test.sleep')
    await startAgent(master.port).start()
    expect((await waitFor(() => master.frames('hello')[0])).inFlight).toEqual([id])
    expect(await waitFor(() => master.frames('result')[0])).toMatchObject({
      id,
      ok: false,
      error: { code: 'INTERRUPTED' },
    })
  })
})
