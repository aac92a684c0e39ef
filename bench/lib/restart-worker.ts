// A simulator process for bench/master-restart: each simulated agent is the real agent's connection module
// (packages/agent/src/connection.ts: hello, welcome, heartbeats, reconnect with full-jitter backoff), so the
// reconnect delays measured are the ones real agents would have. Forked by bench/master-restart.ts.
import { performance } from 'node:perf_hooks'
import { PROTOCOL_VERSION, type HelloFrame } from '@alfa/protocol'
import { createBackoff } from '../../packages/agent/src/backoff.ts'
import { createConnection, type Connection } from '../../packages/agent/src/connection.ts'
import { AGENT_VERSION } from '../../packages/agent/src/version.ts'
import { createLogger } from '../../packages/master/src/logger.ts'
import type { SimIdentity } from './sim-protocol.ts'

/** Parent → worker. */
export type RestartToWorker =
  | { type: 'start'; wsUrl: string; agents: SimIdentity[]; backoffBaseMs: number; backoffMaxMs: number }
  | { type: 'report' }
  | { type: 'stop' }

/** Worker → parent: per agent, every welcome time (wall clock ms) so far. */
export type RestartFromWorker = { type: 'started' } | { type: 'report'; welcomes: number[][] } | { type: 'stopped' }

const now = () => performance.timeOrigin + performance.now()
const logger = createLogger({ level: 'silent' })
const connections: Connection[] = []
const welcomes: number[][] = []

function start(msg: Extract<RestartToWorker, { type: 'start' }>): void {
  msg.agents.forEach((agent, i) => {
    welcomes[i] = []
    const hello = (): HelloFrame => ({
      kind: 'hello',
      agentVersion: AGENT_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      serverId: agent.serverId,
      capabilities: [],
      inFlight: [],
    })
    const connection = createConnection({
      wsUrl: msg.wsUrl,
      credential: agent.secret,
      serverId: agent.serverId,
      heartbeatMs: 15_000,
      backoff: createBackoff({ baseMs: msg.backoffBaseMs, maxMs: msg.backoffMaxMs }),
      hello,
      onReady: () => welcomes[i]!.push(now()),
      onFrame: () => undefined,
      logger,
    })
    connections.push(connection)
    connection.start()
  })
}

process.on('message', (msg: RestartToWorker) => {
  const reply = (m: RestartFromWorker) => process.send?.(m)
  if (msg.type === 'start') {
    start(msg)
    reply({ type: 'started' })
  } else if (msg.type === 'report') {
    reply({ type: 'report', welcomes })
  } else {
    void Promise.all(connections.map((c) => c.stop())).then(() => reply({ type: 'stopped' }))
  }
})
process.on('disconnect', () => process.exit(0))
