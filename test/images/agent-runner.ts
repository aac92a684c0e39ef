// The agent's real dispatcher and registry on a state directory of its own, with real Docker: commands go through
// dispatcher.handle() exactly as frames from the master would, and every frame is checked against the wire schema.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import {
  createAgentLogger,
  createImageGate,
  createDispatcher,
  createJournal,
  createOutbox,
  createRegistry,
  exec,
  loadAgentConfig,
} from '@alfa/agent'
import {
  agentFrameSchema,
  commandFrame,
  type AgentFrame,
  type CommandPayload,
  type CommandType,
  type LogFrame,
  type ResultFrame,
} from '@alfa/protocol'
import { makeTempDir, waitUntil } from '../support/process.ts'

export interface AgentRun {
  result: ResultFrame
  logs: LogFrame[]
  /** The log lines joined. */
  text: string
}

export async function startAgentRunner() {
  const docker = new Docker()
  const dir = await makeTempDir('agent-images')
  const config = loadAgentConfig({ ALFA_AGENT_STATE_DIR: path.join(dir, 'state') })
  await fs.mkdir(config.stateDir, { recursive: true })
  const logger = createAgentLogger({ level: 'silent' })
  const journal = createJournal({ dir: path.join(dir, 'journal'), logger })
  await journal.open()
  const frames: AgentFrame[] = []
  const send = (frame: AgentFrame) => {
    const checked = agentFrameSchema.safeParse(frame)
    if (!checked.success) throw new Error(`agent sent an invalid frame: ${checked.error.message}`)
    frames.push(frame)
    return true
  }
  const serverId = randomUUID()
  const imageGate = createImageGate()
  const dispatcher = createDispatcher({
    journal,
    registry: createRegistry({ testCommands: false }),
    deps: { docker, exec, config, serverId, now: Date.now, imageGate },
    send,
    outbox: createOutbox({ dir: path.join(dir, 'journal'), send, logger }),
    logger,
  })
  return {
    docker,
    config,
    serverId,
    /** The gate the agent's handlers share: containers made through it are ordered against prune's removals. */
    imageGate,
    /** Sends one command and waits for its result. */
    async run<T extends CommandType>(type: T, payload: CommandPayload<T>, deadlineMs = 300_000): Promise<AgentRun> {
      const id = randomUUID()
      await dispatcher.handle(commandFrame(id, type, payload, deadlineMs))
      let result: ResultFrame | undefined
      await waitUntil(
        () => (result = frames.find((f): f is ResultFrame => f.kind === 'result' && f.id === id)) !== undefined,
        {
          timeoutMs: deadlineMs + 5000,
          what: `${type} result`,
        },
      )
      const logs = frames.filter((f): f is LogFrame => f.kind === 'log' && f.id === id)
      return { result: result as ResultFrame, logs, text: logs.map((l) => l.line).join('\n') }
    },
    /** A raw frame, for payloads the schema must refuse before any handler runs. */
    async runRaw(type: string, payload: unknown): Promise<AgentRun> {
      const id = randomUUID()
      await dispatcher.handle({ kind: 'command', id, type, payload, deadlineMs: 60_000 } as never)
      await waitUntil(() => frames.some((f) => f.kind === 'result' && f.id === id), {
        timeoutMs: 10_000,
        what: 'result',
      })
      const result = frames.find((f): f is ResultFrame => f.kind === 'result' && f.id === id) as ResultFrame
      return { result, logs: [], text: '' }
    },
    async stop() {
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}
