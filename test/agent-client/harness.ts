// Shared setup of the agent-side client lifecycle tests: a private nginx, MariaDB and PostgreSQL (reachable from
// containers), the fixture app images, and the agent's real dispatcher + registry with a configuration pointing at
// them. Commands go through dispatcher.handle() exactly as frames from the master would.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
import Docker from 'dockerode'
import { createAgentLogger, loadAgentConfig, type AgentConfig, type HandlerDeps } from '@alfa/agent'
import type { ClientCreatePayload, CommandPayload, CommandType } from '@alfa/protocol'
import { ensureFixtureImages, type FixtureImages } from '../fixtures/app/build.ts'
import {
  bridgeGateway,
  dockerAvailable,
  removeContainersByLabel,
  removeNetworksByLabel,
  removeVolumesByLabel,
} from '../support/docker.ts'
import { startMariadb, type PrivateMariadb } from '../support/mariadb.ts'
import { startNginx, type PrivateNginx } from '../support/nginx.ts'
import { startPostgres, type TestPostgres } from '../support/postgres.ts'
import { clientCreatePayload } from '../support/create-payload.ts'
import { startInProcessAgent, type Run } from '../support/in-process-agent.ts'
import { makeTempDir } from '../support/process.ts'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'
import { agentEnvFor } from '../support/server-services.ts'

export { FIXTURE_PROFILE }

export type { Run }

export interface AgentClientEnv {
  docker: Docker
  images: FixtureImages
  nginx: PrivateNginx
  mariadb: PrivateMariadb
  postgres: TestPostgres
  config: AgentConfig
  deps: HandlerDeps
  serverId: string
  dir: string
  /** Everything the agent's pino logger wrote (to check no secret reaches it). */
  loggerOutput(): string
  run<T extends CommandType>(type: T, payload: CommandPayload<T>, deadlineMs?: number): Promise<Run>
  createPayload(slug: string, patch?: Partial<ClientCreatePayload>): ClientCreatePayload
  stop(): Promise<void>
}

/** `overrides`: more agent environment variables (e.g. a shorter ALFA_AGENT_HEALTH_TIMEOUT_MS for rollback tests). */
export async function startAgentClientEnv(overrides: Record<string, string> = {}): Promise<AgentClientEnv> {
  const docker = new Docker()
  if (!(await dockerAvailable(docker)))
    throw new Error('Docker daemon not reachable: run ./scripts/test, which starts it')
  const dir = await makeTempDir('agent-client')
  const serverId = randomUUID()
  const started = await Promise.allSettled([
    startNginx(),
    startMariadb(),
    startPostgres({ containerAccess: true }),
    ensureFixtureImages(docker),
    bridgeGateway(docker),
  ])
  let endSessions = async () => {}
  const stopServices = async () => {
    await endSessions()
    await removeContainersByLabel(`alfa.server=${serverId}`, docker)
    await removeNetworksByLabel(`alfa.server=${serverId}`, docker)
    await removeVolumesByLabel(`alfa.server=${serverId}`, docker)
    for (const s of started.slice(0, 3))
      if (s.status === 'fulfilled') await (s.value as { stop(): Promise<void> }).stop()
    await fs.rm(dir, { recursive: true, force: true })
  }
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await stopServices()
    throw (failed as PromiseRejectedResult).reason
  }
  const [nginx, mariadb, postgres, images, gateway] = started.map(
    (s) => (s as PromiseFulfilledResult<unknown>).value,
  ) as [PrivateNginx, PrivateMariadb, TestPostgres, FixtureImages, string]

  const config = loadAgentConfig({
    ALFA_AGENT_STATE_DIR: path.join(dir, 'state'),
    ...agentEnvFor({ nginx, mariadb, postgres, gateway }, dir),
    ...overrides,
  })
  await fs.mkdir(config.stateDir, { recursive: true })
  let logText = ''
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString('utf8')
      done()
    },
  })
  const logger = createAgentLogger({ level: 'trace', destination })
  const agent = await startInProcessAgent({ docker, config, serverId, logger, journalDir: path.join(dir, 'journal') })
  const { deps } = agent
  endSessions = async () => await deps.tenantSessions?.close()

  return {
    docker,
    images,
    nginx,
    mariadb,
    postgres,
    config,
    deps,
    serverId,
    dir,
    loggerOutput: () => logText,
    run: (type, payload, deadlineMs) => agent.run(type, payload, deadlineMs),
    createPayload: (slug, patch = {}) => clientCreatePayload(slug, images.good1, patch),
    stop: stopServices,
  }
}

/** Every log line of a run joined, for "never in any log line" assertions. */
export const allLines = (run: Run): string => run.logs.map((l) => l.line).join('\n')
