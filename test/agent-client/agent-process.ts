// A real `alfa-agent run` process against a scripted master (a WebSocket server in the test): the fault tests send
// it commands, SIGKILL it at a chosen step, start it again and read what it reports. The master's side is not under
// test here; the agent's journal, recovery and replay are.
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { commandFrame, type CommandPayload, type CommandType } from '@alfa/protocol'
import { WebSocketServer, type WebSocket } from 'ws'
import { REPO_ROOT } from '../support/cluster.ts'
import { spawnService, waitUntil, type ServiceProcess } from '../support/process.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- frames are inspected loosely in tests
export type Frame = any

export async function startScriptedAgent(dir: string, agentEnv: Record<string, string>) {
  const serverId = randomUUID()
  const stateDir = path.join(dir, 'state')
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  await writeFile(path.join(stateDir, 'credential'), 'C'.repeat(43) + '\n', { mode: 0o600 })
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.on('listening', r))
  const port = (wss.address() as AddressInfo).port
  await writeFile(
    path.join(stateDir, 'identity.json'),
    JSON.stringify({ serverId, masterUrl: `http://127.0.0.1:${port}` }),
    { mode: 0o600 },
  )
  const received: Frame[] = []
  let socket: WebSocket | undefined
  wss.on('connection', (ws) => {
    socket = ws
    ws.on('message', (d) => {
      const frame = JSON.parse(d.toString())
      received.push(frame)
      if (frame.kind === 'hello')
        ws.send(JSON.stringify({ kind: 'welcome', serverId, protocolVersion: 1, heartbeatMs: 2000 }))
      if (frame.kind === 'result') ws.send(JSON.stringify({ kind: 'ack', id: frame.id }))
    })
  })
  let proc: ServiceProcess | undefined
  let runs = 0
  const marker = path.join(stateDir, 'test-markers', 'paused')

  return {
    serverId,
    stateDir,
    received,
    /** Starts the agent, pausing the command at `pauseAt` (`<type>:<step>`) when given; resolves once it said hello. */
    async start(pauseAt?: string) {
      runs++
      const hellos = received.filter((f) => f.kind === 'hello').length
      await rm(marker, { force: true })
      proc = spawnService(
        `agent run ${runs}`,
        process.execPath,
        ['--import', 'tsx', 'packages/agent/bin/alfa-agent.ts', 'run'],
        {
          logPath: path.join(dir, `agent-${runs}.log`),
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            ...agentEnv,
            ALFA_AGENT_STATE_DIR: stateDir,
            ALFA_AGENT_TEST_COMMANDS: '1',
            ALFA_AGENT_BACKOFF_BASE_MS: '100',
            ALFA_AGENT_BACKOFF_MAX_MS: '500',
            ALFA_AGENT_METRICS_INTERVAL_MS: '60000',
            ALFA_LOG_LEVEL: 'info',
            ...(pauseAt ? { ALFA_AGENT_TEST_PAUSE_AT: pauseAt } : {}),
          },
        },
      )
      await waitUntil(() => received.filter((f) => f.kind === 'hello').length > hellos, {
        timeoutMs: 120_000,
        what: 'the agent to say hello',
        describe: () => proc!.logTail(),
      })
    },
    send<T extends CommandType>(type: T, payload: CommandPayload<T>, deadlineMs = 300_000): string {
      const id = randomUUID()
      socket!.send(JSON.stringify(commandFrame(id, type, payload, deadlineMs)))
      return id
    },
    /** Waits until the command paused at its step (the agent journaled it), then SIGKILLs the agent. */
    async killAtPause(what: string) {
      await waitUntil(async () => (await readFile(marker, 'utf8').catch(() => '')).trim() === what, {
        timeoutMs: 60_000,
        what: `the pause at ${what}`,
        describe: () => proc!.logTail(),
      })
      await proc!.stop({ signal: 'SIGKILL' })
    },
    async result(id: string, timeoutMs = 90_000): Promise<Frame> {
      let found: Frame
      await waitUntil(() => (found = received.find((f) => f.kind === 'result' && f.id === id)) !== undefined, {
        timeoutMs,
        what: `the result of ${id}`,
        describe: () => proc!.logTail(),
      })
      return found
    },
    logsOf: (id: string): string[] => received.filter((f) => f.kind === 'log' && f.id === id).map((f) => f.line),
    async stop() {
      await proc?.stop()
      wss.close()
    },
  }
}
