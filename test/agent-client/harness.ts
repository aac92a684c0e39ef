// Shared setup of the agent-side client lifecycle tests: a private nginx, MariaDB and PostgreSQL (reachable from
// containers), the fixture app images, and the agent's real dispatcher + registry with a configuration pointing at
// them. Commands go through dispatcher.handle() exactly as frames from the master would.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
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
  type AgentConfig,
  type HandlerDeps,
} from '@alfa/agent'
import {
  agentFrameSchema,
  commandFrame,
  type AgentFrame,
  type ClientCreatePayload,
  type CommandPayload,
  type CommandType,
  type LogFrame,
  type ProgressFrame,
  type ResultFrame,
} from '@alfa/protocol'
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
import { makeTempDir, waitUntil } from '../support/process.ts'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'
import { agentEnvFor } from '../support/server-services.ts'

export { FIXTURE_PROFILE }

/** Everything one command run produced on the wire. */
export interface Run {
  result: ResultFrame
  logs: LogFrame[]
  progress: ProgressFrame[]
}

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
  const stopServices = async () => {
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
  const imageGate = createImageGate()
  const deps: HandlerDeps = { docker, exec, config, serverId, now: Date.now, imageGate }
  const journal = createJournal({ dir: path.join(dir, 'journal'), logger })
  await journal.open()
  const frames: AgentFrame[] = []
  const send = (frame: AgentFrame) => {
    // Every frame must pass the master's schema, as it would on the wire.
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
    outbox: createOutbox({ dir: path.join(dir, 'journal'), send, logger }),
    logger,
  })

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
    async run(type, payload, deadlineMs = 180_000) {
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
      const mine = frames.filter((f) => 'id' in f && f.id === id)
      return {
        result: result as ResultFrame,
        logs: mine.filter((f): f is LogFrame => f.kind === 'log'),
        progress: mine.filter((f): f is ProgressFrame => f.kind === 'progress'),
      }
    },
    createPayload(slug, patch = {}) {
      return {
        clientId: randomUUID(),
        slug,
        domain: `${slug}.clients.test`,
        image: images.good1,
        dbEngine: 'mariadb',
        env: {},
        ownerLogin: 'owner@lab',
        ownerPassword: `Owner-${randomUUID()}`,
        tls: false,
        settings: { maintenance: false, expireDate: '2031-12-31', turbostart: true, tutorial: false, version: null },
        profile: FIXTURE_PROFILE,
        ...patch,
      }
    },
    stop: stopServices,
  }
}

/** Every log line of a run joined, for "never in any log line" assertions. */
export const allLines = (run: Run): string => run.logs.map((l) => l.line).join('\n')
