// The agent's real dispatcher and registry in the test's own process: commands go through dispatcher.handle()
// exactly as frames from the master would, and every frame the agent sends is checked against the wire schema.
import { randomUUID } from 'node:crypto'
import type Docker from 'dockerode'
import type { createAgentLogger } from '@alfa/agent'
import {
  createDispatcher,
  createImageGate,
  createJournal,
  createOutbox,
  createRegistry,
  createTenantSessions,
  exec,
  type AgentConfig,
  type HandlerDeps,
} from '@alfa/agent'
import {
  agentFrameSchema,
  commandFrame,
  type AgentFrame,
  type CommandPayload,
  type CommandType,
  type LogFrame,
  type ProgressFrame,
  type ResultFrame,
} from '@alfa/protocol'
import { waitUntil } from './process.ts'

/** Everything one command run produced on the wire. */
export interface Run {
  result: ResultFrame
  logs: LogFrame[]
  progress: ProgressFrame[]
}

/** `journalDir` holds the agent's journal and outbox; the caller removes it with the rest of its temp dir. */
export async function startInProcessAgent(o: {
  docker: Docker
  config: AgentConfig
  serverId: string
  logger: ReturnType<typeof createAgentLogger>
  journalDir: string
}) {
  const deps: HandlerDeps = {
    docker: o.docker,
    exec,
    config: o.config,
    serverId: o.serverId,
    now: Date.now,
    imageGate: createImageGate(),
    // As the real agent: tenant sessions kept between commands (closed by the caller's stop), idle for longer, so
    // that what ends one in a test is what the test did, never a slow machine's idle timer.
    tenantSessions: createTenantSessions({ idleMs: 60_000 }),
  }
  const journal = createJournal({ dir: o.journalDir, logger: o.logger })
  await journal.open()
  const frames: AgentFrame[] = []
  const send = (frame: AgentFrame) => {
    const checked = agentFrameSchema.safeParse(frame)
    if (!checked.success) throw new Error(`agent sent an invalid frame: ${checked.error.message}`)
    frames.push(frame)
    return true
  }
  const dispatcher = createDispatcher({
    journal,
    registry: createRegistry({ testCommands: false }),
    deps,
    send,
    outbox: createOutbox({ dir: o.journalDir, send, logger: o.logger }),
    logger: o.logger,
  })

  /** Waits for the result of command `id` and collects what it sent. */
  async function collect(id: string, what: string, timeoutMs: number): Promise<Run> {
    let result: ResultFrame | undefined
    await waitUntil(
      () => (result = frames.find((f): f is ResultFrame => f.kind === 'result' && f.id === id)) !== undefined,
      { timeoutMs, what },
    )
    const mine = frames.filter((f) => 'id' in f && f.id === id)
    return {
      result: result as ResultFrame,
      logs: mine.filter((f): f is LogFrame => f.kind === 'log'),
      progress: mine.filter((f): f is ProgressFrame => f.kind === 'progress'),
    }
  }

  return {
    deps,
    /** Sends one command and waits for its result. */
    async run<T extends CommandType>(type: T, payload: CommandPayload<T>, deadlineMs = 180_000): Promise<Run> {
      const id = randomUUID()
      await dispatcher.handle(commandFrame(id, type, payload, deadlineMs))
      return collect(id, `${type} result`, deadlineMs + 5000)
    },
    /** A raw frame, for payloads the schema must refuse before any handler runs. */
    async runRaw(type: string, payload: unknown): Promise<Run> {
      const id = randomUUID()
      await dispatcher.handle({ kind: 'command', id, type, payload, deadlineMs: 60_000 } as never)
      return collect(id, 'result', 10_000)
    },
  }
}
