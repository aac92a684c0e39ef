import type Dockerode from 'dockerode'
import { LIMITS, PROTOCOL_VERSION, type HelloFrame, type MasterFrame } from '@alfa/protocol'
import type { Logger } from 'pino'
import { createBackoff } from './backoff.ts'
import type { HandlerDeps } from './command-context.ts'
import { masterEndpoints, type AgentConfig } from './config.ts'
import { createConnection } from './connection.ts'
import { createDispatcher } from './dispatcher.ts'
import type { Exec } from './exec.ts'
import { createJournal } from './journal.ts'
import { createSampler } from './metrics/sampler.ts'
import { masterChannel } from './transfer/master-channel.ts'
import { createOutbox } from './outbox.ts'
import { createRegistry } from './registry.ts'
import { statePaths, type AgentIdentity } from './state.ts'
import { AGENT_VERSION } from './version.ts'
import { createImageGate } from './drivers/image-gate.ts'
import { createTenantSessions } from './drivers/tenant-sessions.ts'
import { clientDrivers } from './commands/client/drivers.ts'
import { transferCapabilities } from './transfer/capabilities.ts'
import { createForwardExpiry } from './forward-expiry.ts'
import { createKeptDumpExpiry } from './kept-dumps.ts'

/** Everything the agent needs, passed in: the CLI builds the Docker client, tests may pass their own. */
export interface AgentDeps {
  docker: Dockerode
  exec: Exec
  config: AgentConfig
  /** Who this agent is (from enrollment). */
  identity: AgentIdentity
  /** Its secret, sent as a Bearer token on the upgrade. */
  credential: string
  /** The CA a wss:// master must chain to (ALFA_AGENT_MASTER_CA, read at start). */
  masterCa?: Buffer
  logger: Logger
  /** Clock in ms since the epoch (journal times, metrics timestamps). */
  now?: () => number
  /** Source of backoff jitter. */
  random?: () => number
}

/** Wires journal, registry, dispatcher, connection and sampler into the daemon `alfa-agent run` starts. */
export function createAgent(deps: AgentDeps) {
  const { config, identity, logger } = deps
  const now = deps.now ?? Date.now
  const log = logger.child({ component: 'agent', serverId: identity.serverId })
  const journal = createJournal({ dir: statePaths(config.stateDir).journal, now, logger })
  const outbox = createOutbox({
    dir: statePaths(config.stateDir).journal,
    send: (frame) => connection.send(frame),
    logger,
  })
  const registry = createRegistry({ testCommands: config.testCommands })
  const tenantSessions = createTenantSessions()
  const handlerDeps: HandlerDeps = {
    docker: deps.docker,
    exec: deps.exec,
    config,
    serverId: identity.serverId,
    now,
    imageGate: createImageGate(),
    tenantSessions,
    master: masterChannel(masterEndpoints(config.masterUrl ?? identity.masterUrl).wsUrl, deps.credential),
  }
  const forwards = createForwardExpiry({
    sitesDir: config.nginxSitesDir,
    sites: (signal) => clientDrivers(handlerDeps, signal).sites,
    now,
    intervalMs: config.forwardSweepMs,
    logger,
  })
  const keptDumps = createKeptDumpExpiry({
    stateDir: config.stateDir,
    backupDir: config.backupDir,
    keepDays: config.moveDumpKeepDays,
    now,
    intervalMs: config.forwardSweepMs,
    logger,
  })
  const sampler = createSampler({
    docker: deps.docker,
    serverId: identity.serverId,
    diskMounts: config.diskMounts,
    logger,
    now,
  })
  let metricsTimer: NodeJS.Timeout | undefined
  let pruneTimer: NodeJS.Timeout | undefined
  let sampling = false

  /** Announced in hello: the commands, and what start() finds beside them (transferCapabilities). */
  let capabilities = registry.capabilities()
  const hello = (): HelloFrame => ({
    kind: 'hello',
    agentVersion: AGENT_VERSION,
    protocolVersion: PROTOCOL_VERSION,
    serverId: identity.serverId,
    capabilities,
    inFlight: journal.inFlight().slice(0, LIMITS.inFlight),
  })

  function onFrame(frame: MasterFrame): void {
    if (frame.kind === 'command') {
      dispatcher
        .handle(frame)
        .catch((error: unknown) => log.error({ err: error, commandId: frame.id }, 'command not taken'))
    } else if (frame.kind === 'ack') {
      dispatcher
        .ack(frame.id)
        .catch((error: unknown) => log.error({ err: error, commandId: frame.id }, 'ack not recorded'))
    } else if (frame.kind === 'error') {
      log.warn({ error: frame.error, refId: frame.refId }, 'the master refused a frame')
    }
  }

  const connection = createConnection({
    wsUrl: masterEndpoints(config.masterUrl ?? identity.masterUrl).wsUrl,
    credential: deps.credential,
    ...(deps.masterCa ? { ca: deps.masterCa } : {}),
    ...(identity.masterFingerprint ? { fingerprint: identity.masterFingerprint } : {}),
    serverId: identity.serverId,
    heartbeatMs: config.heartbeatMs,
    backoff: createBackoff({
      baseMs: config.backoffBaseMs,
      maxMs: config.backoffMaxMs,
      ...(deps.random ? { random: deps.random } : {}),
    }),
    hello,
    onReady: () => {
      const resent = dispatcher.resendUnacked()
      if (resent > 0) log.info({ resent }, 're-sent results the master had not acknowledged')
    },
    onFrame,
    logger,
    now,
  })
  const dispatcher = createDispatcher({
    journal,
    registry,
    deps: handlerDeps,
    send: (frame) => connection.send(frame),
    outbox,
    logger,
  })

  async function sendMetrics(): Promise<void> {
    // A slow Docker must not stack samples up; a skipped interval is better than a queue.
    if (!connection.ready || sampling) return
    sampling = true
    try {
      connection.send(await sampler.sample())
    } catch (error) {
      log.warn({ err: error }, 'metrics sample failed')
    } finally {
      sampling = false
    }
  }

  return {
    /** Recovers the journal (interrupted commands), then connects and starts sampling. */
    async start(): Promise<void> {
      await outbox.open()
      await journal.open()
      capabilities = [...registry.capabilities(), ...(await transferCapabilities(config, handlerDeps.exec))]
      log.info({ agentVersion: AGENT_VERSION, capabilities }, 'agent starting')
      connection.start()
      // Multi-step commands a killed process left half-done are finished or rolled back (their clients locked
      // until then) while the master already sees them in flight.
      void dispatcher.recoverAll()
      // Pages a cleaned pages dir lost are put back: a flag set before shows nginx's own 404 without its page.
      void clientDrivers(handlerDeps, AbortSignal.timeout(30_000))
        .sites.ensurePages()
        .catch((error: unknown) => log.warn({ err: error }, 'the maintenance and expiry pages could not be written'))
      // Forwards of moved clients whose time ended (also while the agent was down) are removed.
      forwards.start()
      // And moves' kept dumps past their retention (moveDumpKeepDays).
      keptDumps.start()
      metricsTimer = setInterval(() => void sendMetrics(), config.metricsIntervalMs)
      // Results nobody acknowledges are pruned past retention even when no ack ever comes to trigger it.
      pruneTimer = setInterval(
        () => void journal.prune().catch((error: unknown) => log.warn({ err: error }, 'journal prune')),
        60 * 60_000,
      )
      pruneTimer.unref()
    },

    /** Graceful stop: no new commands, running ones get up to shutdownGraceMs, then the socket closes. */
    async stop(): Promise<void> {
      clearInterval(metricsTimer)
      clearInterval(pruneTimer)
      forwards.stop()
      keptDumps.stop()
      const drained = await dispatcher.drain(config.shutdownGraceMs)
      if (!drained)
        log.warn(
          { running: dispatcher.runningCount },
          'stopping with commands still running (reported as interrupted on restart)',
        )
      await connection.stop()
      await tenantSessions.close()
      await outbox.settled()
      log.info('agent stopped')
    },

    /** True while welcomed by the master. */
    get connected(): boolean {
      return connection.ready
    },
  }
}

export type Agent = ReturnType<typeof createAgent>
