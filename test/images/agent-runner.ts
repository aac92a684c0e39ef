// The agent's real dispatcher and registry on a state directory of its own, with real Docker (no nginx or
// databases: what the image commands need).
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import { createAgentLogger, loadAgentConfig } from '@alfa/agent'
import type { CommandPayload, CommandType } from '@alfa/protocol'
import { startInProcessAgent, type Run } from '../support/in-process-agent.ts'
import { makeTempDir } from '../support/process.ts'

export interface AgentRun extends Run {
  /** The log lines joined. */
  text: string
}

const withText = (run: Run): AgentRun => ({ ...run, text: run.logs.map((l) => l.line).join('\n') })

export async function startAgentRunner() {
  const docker = new Docker()
  const dir = await makeTempDir('agent-images')
  const config = loadAgentConfig({ ALFA_AGENT_STATE_DIR: path.join(dir, 'state') })
  await fs.mkdir(config.stateDir, { recursive: true })
  const serverId = randomUUID()
  const agent = await startInProcessAgent({
    docker,
    config,
    serverId,
    logger: createAgentLogger({ level: 'silent' }),
    journalDir: path.join(dir, 'journal'),
  })
  return {
    docker,
    config,
    serverId,
    /** The gate the agent's handlers share: containers made through it are ordered against prune's removals. */
    imageGate: agent.deps.imageGate,
    /** Sends one command and waits for its result. */
    run: async <T extends CommandType>(type: T, payload: CommandPayload<T>, deadlineMs = 300_000) =>
      withText(await agent.run(type, payload, deadlineMs)),
    /** A raw frame, for payloads the schema must refuse before any handler runs. */
    runRaw: async (type: string, payload: unknown) => withText(await agent.runRaw(type, payload)),
    async stop() {
      await agent.deps.tenantSessions?.close()
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}
