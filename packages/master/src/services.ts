import path from 'node:path'
import type { Logger } from 'pino'
import { createAgentCredentials } from './agent-hub/agent-credentials.ts'
import { createAgentHub, type AgentHubOptions } from './agent-hub/agent-hub.ts'
import { createAdminCredentials } from './auth/admin-credentials.ts'
import type { HashParams } from './auth/password-hash.ts'
import type { Clock } from './clock.ts'
import type { PrismaClient } from './generated/prisma/client.ts'
import type { Sql } from './db/sql.ts'
import { createMetricsStore, type MetricsStoreOptions } from './metrics/metrics-store.ts'
import { createOperationLogWriter } from './operations/operation-log-writer.ts'
import { createOperationService, type OperationStatus } from './operations/operation-service.ts'
import { createBegin } from './operations/operation-begin.ts'
import { createOperationCompletions } from './operations/operation-completions.ts'
import { createFinalRows } from './operations/final-rows.ts'
import { createOperationWaiter } from './operations/operation-wait.ts'
import { createParentRunner, type ParentRunner } from './operations/parent-runner.ts'
import type { KindContext } from './operations/kind-context.ts'
import { createServerActions } from './servers/server-actions.ts'
import { createImageListRecords } from './servers/image-list-records.ts'
import { CATALOG_CHANNEL, createCatalogCache } from './images/catalog-cache.ts'
import type { Notifications } from './db/notifications.ts'
import { createServerService } from './servers/server-service.ts'
import { createSecretBox } from './secrets/secret-box.ts'
import { createMailServices, type MailConfig } from './mail/mail-services.ts'
import { createProfileResolver, type ProfileResolver } from './clients/app-profiles.ts'
import { createDefaultImage } from './clients/default-image.ts'
import { createClientService } from './clients/client-service.ts'
import { createClientMonitor, type ClientMonitorOptions } from './clients/client-monitor.ts'
import { createClientActions } from './clients/client-actions.ts'
import { createExpiryEnforcer } from './clients/expiry-enforcer.ts'
import { readBuildConfig, type BuildConfig } from './images/build-config.ts'
import { createImageBuilds } from './images/image-builds.ts'
import { createImageCatalog } from './images/image-catalog.ts'
import { DEFAULT_FLEET_LIMITS, type FleetLimits } from './fleet/fleet-plan.ts'
import { createFleetService } from './fleet/fleet-service.ts'
import { createTransferRelay } from './transfers/transfer-relay.ts'
import { createMoveService } from './moves/move-service.ts'

export interface ServicesDeps {
  prisma: PrismaClient
  /** The same database, straight through the driver, for the hot paths (db/sql.ts). */
  sql: Sql
  /** Its LISTEN/NOTIFY, for the caches its triggers keep coherent; without it they always read. */
  notifications?: Notifications
  /** The master's data directory: what it journals lives under it (image lists written behind their answer). */
  dataDir: string
  logger: Logger
  clock: Clock
  /** scrypt cost; tests lower it, production keeps the OWASP default. */
  hashParams?: HashParams
  hub?: AgentHubOptions
  metrics?: MetricsStoreOptions
  enrollmentTtlMs?: number
  /** Key of the secret box (AES-256-GCM) for secrets kept at rest. */
  secretKey: Buffer
  /** How to operate the app in each image (ALFA_APP_PROFILES); Laravel's by default. */
  profiles?: ProfileResolver
  clientMonitor?: ClientMonitorOptions
  /** The customers' time zone: expiry happens at their midnight (ALFA_TIMEZONE, Europe/Moscow by default). */
  timeZone?: string
  /** How often the expiry enforcer compares expire dates with what servers serve. */
  expiryIntervalMs?: number
  /** Customer mail and expiry reminders; without an SMTP URL letters are recorded as failed and reminders are off. */
  mail?: MailConfig
  /** Image builds (ALFA_APP_GIT_URL, branches, image repository, ALFA_KEEP_IMAGES); defaults: not configured. */
  builds?: BuildConfig
  /** Fleet operations: children at once and failures before no new child starts (ALFA_FLEET_*). */
  fleet?: Partial<FleetLimits>
  /** ALFA_MOVE_FORWARD_HOURS: how long a moved client's old server forwards its domain (24). */
  moveForwardHours?: number
  /** ALFA_MOVE_AGENT_WAIT_MS: how long a move's undo or cleanup waits for an agent that is away (5 minutes). */
  moveAgentWaitMs?: number
  /** How long GET /servers/{id}/images waits for the agent before answering 202 with the operation (15 s). */
  imagesWaitMs?: number
  /** ALFA_QUERY_RECORDS_FLUSH_MS: how long a listed image's record waits in the journal (25 ms). */
  queryRecordsFlushMs?: number
}

/** The composition root of the master's services: each built once from explicit dependencies, no module singletons. */
export function createServices(deps: ServicesDeps) {
  const { prisma, logger, clock } = deps
  const logs = createOperationLogWriter({ prisma, sql: deps.sql, logger })
  const imageLists = createImageListRecords({
    sql: deps.sql,
    logger,
    dir: path.join(deps.dataDir, 'query-records'),
    flushMs: deps.queryRecordsFlushMs,
  })
  const operations = createOperationService({ prisma, sql: deps.sql, clock, logger, logs, behind: imageLists })
  const metrics = createMetricsStore({ prisma, sql: deps.sql, clock, logger, ...deps.metrics })
  const agentCredentials = createAgentCredentials({
    prisma,
    sql: deps.sql,
    clock,
    logger,
    ...(deps.enrollmentTtlMs ? { enrollmentTtlMs: deps.enrollmentTtlMs } : {}),
  })
  const secretBox = createSecretBox(deps.secretKey)
  // The hub, `begin`, the kinds' handlers and the parent runner need each other: bound once everything exists.
  const late: {
    context?: KindContext
    parents?: ParentRunner
    clientFree?: (clientId: string) => void
    serverBack?: (serverId: string) => void
  } = {}
  const context = () => late.context!
  const finals = createFinalRows()
  const completions = createOperationCompletions({
    context,
    childEnded: (id) => late.parents?.childEnded(id),
    ended(op) {
      finals.record(op)
      if (op.clientId) late.clientFree?.(op.clientId)
    },
  })
  const hub = createAgentHub({
    prisma,
    sql: deps.sql,
    logger,
    clock,
    operations,
    credentials: agentCredentials,
    metrics,
    completions,
    secretBox,
    parents: { resumeAll: () => late.parents!.resumeAll() },
    agentOnline(serverId) {
      late.parents?.agentOnline()
      late.serverBack?.(serverId)
    },
    ...deps.hub,
  })
  const begin = createBegin({ prisma, sql: deps.sql, courier: hub.courier, clock, logger })
  const transfers = createTransferRelay({ auth: agentCredentials, logger })
  const parents = (late.parents = createParentRunner({
    prisma,
    clock,
    logger,
    operations,
    context,
    settle: hub.settle,
    offlineGraceMs: deps.hub?.graceMs ?? 60_000,
  }))
  const adminCredentials = createAdminCredentials({
    prisma,
    clock,
    logger,
    ...(deps.hashParams ? { hashParams: deps.hashParams } : {}),
  })
  const servers = createServerService({ prisma, sql: deps.sql })
  const imageCatalog = createImageCatalog({ prisma, sql: deps.sql, behind: imageLists })
  const catalogCache = createCatalogCache({ catalog: imageCatalog, logger })
  const serverActions = createServerActions({
    prisma,
    sql: deps.sql,
    hub,
    begin,
    operations,
    imagesWaitMs: deps.imagesWaitMs ?? 15_000,
    records: imageLists,
    catalog: catalogCache,
  })
  const imageBuilds = createImageBuilds({ prisma, hub, begin, config: deps.builds ?? readBuildConfig({}) })
  const mail = createMailServices({ prisma, clock, logger, secretBox, config: deps.mail })
  const profiles = deps.profiles ?? createProfileResolver()
  const clientMonitor = createClientMonitor({ prisma, hub, clock, logger, profiles, ...deps.clientMonitor })
  const clients = createClientService({
    prisma,
    hub,
    operations,
    begin,
    secretBox,
    profiles,
    defaultImage: createDefaultImage({ prisma, sql: deps.sql, hub }),
  })
  const calendar = { timeZone: deps.timeZone ?? 'Europe/Moscow' }
  late.context = {
    prisma,
    profiles,
    calendar,
    sql: deps.sql,
    clock,
    logger,
    secretBox,
    begin,
    announces: (serverId, capability) => hub.announces(serverId, capability),
    refreshClient: (clientId) =>
      void clientMonitor.refresh(clientId).catch((err: unknown) => logger.warn({ err, clientId }, 'refresh failed')),
  }
  const clientActions = createClientActions({ prisma, sql: deps.sql, hub, begin, profiles, clock, calendar })
  late.clientFree = (clientId) =>
    void clientActions
      .clientFree(clientId)
      .catch((err: unknown) => logger.error({ err, clientId }, 'sending pending settings failed'))
  late.serverBack = (serverId) => {
    for (const clientId of clientActions.markedOn(serverId)) late.clientFree?.(clientId)
  }
  const expiryEnforcer = createExpiryEnforcer({
    prisma,
    clock,
    logger,
    actions: clientActions,
    calendar,
    ...(deps.expiryIntervalMs ? { intervalMs: deps.expiryIntervalMs } : {}),
  })
  const fleet = createFleetService({
    prisma,
    hub,
    runner: parents,
    profiles,
    clock,
    calendar,
    limits: { ...DEFAULT_FLEET_LIMITS, ...deps.fleet },
  })
  const moves = createMoveService({
    prisma,
    hub,
    transfers,
    operations,
    profiles,
    calendar,
    clock,
    logger,
    forwardHours: deps.moveForwardHours ?? 24,
    agentWaitMs: deps.moveAgentWaitMs ?? 5 * 60_000,
  })
  return {
    prisma,
    /** The same database straight through the driver, for the hot paths' statements (db/sql.ts). */
    sql: deps.sql,
    logger,
    clock,
    logs,
    secretBox,
    operations,
    metrics,
    agentCredentials,
    begin,
    parents,
    hub,
    transfers,
    adminCredentials,
    servers,
    serverActions,
    imageBuilds,
    imageCatalog,
    imageLists,
    clients,
    clientMonitor,
    clientActions,
    expiryEnforcer,
    mail,
    fleet,
    moves,
    /** Final rows handed from the completion path to a request waiting with `Prefer: wait` in this process. */
    finals,
    /** Waits for an operation to end, for `Prefer: wait` (in-process wake-up, database read as the fallback). */
    untilEnded: createOperationWaiter({
      waitFor: hub.waitFor,
      // Straight through the driver: the first read runs while the agent starts the command, on the same CPU.
      readStatus: async (id) =>
        (
          await deps.sql.query<{ status: OperationStatus }>(
            `SELECT status::text AS status FROM "Operation" WHERE id = $1::uuid`,
            [id],
            'operation-status',
          )
        )[0]?.status,
    }),

    /** Background work that must run while the master serves: metric flushes, reconciliation of old operations. */
    async start() {
      await imageLists.replay()
      await deps.notifications?.listen(CATALOG_CHANNEL, catalogCache.listener)
      metrics.start()
      await hub.reconcileAtStart()
      await moves.recoverAtStart()
      clientMonitor.start()
      expiryEnforcer.start()
      mail.start()
    },

    /** Stops background work and writes what is buffered. */
    async stop() {
      expiryEnforcer.stop()
      await clientMonitor.stop()
      await mail.stop()
      parents.stop()
      await hub.close()
      await imageLists.stop()
      await agentCredentials.stop()
      await metrics.stop()
      await logs.flush()
    },
  }
}

export type Services = ReturnType<typeof createServices>
