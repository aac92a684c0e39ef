import type { Logger } from 'pino'
import { createAgentCredentials } from './agent-hub/agent-credentials.ts'
import { createAgentHub, type AgentHubOptions } from './agent-hub/agent-hub.ts'
import { createOperationCompletions } from './agent-hub/operation-completions.ts'
import { createAdminCredentials } from './auth/admin-credentials.ts'
import type { HashParams } from './auth/password-hash.ts'
import type { Clock } from './clock.ts'
import type { PrismaClient } from './generated/prisma/client.ts'
import { createMetricsStore, type MetricsStoreOptions } from './metrics/metrics-store.ts'
import { createOperationLogWriter } from './operations/operation-log-writer.ts'
import { createOperationService } from './operations/operation-service.ts'
import { createServerActions } from './servers/server-actions.ts'
import { createServerService } from './servers/server-service.ts'
import { createSecretBox } from './secrets/secret-box.ts'
import { createProfileResolver, type ProfileResolver } from './clients/app-profiles.ts'
import { createClientService } from './clients/client-service.ts'

export interface ServicesDeps {
  prisma: PrismaClient
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
}

/** The composition root of the master's services: each built once from explicit dependencies, no module singletons. */
export function createServices(deps: ServicesDeps) {
  const { prisma, logger, clock } = deps
  const logs = createOperationLogWriter({ prisma, logger })
  const operations = createOperationService({ prisma, clock, logger, logs })
  const metrics = createMetricsStore({ prisma, clock, logger, ...deps.metrics })
  const agentCredentials = createAgentCredentials({ prisma, clock, logger, ...(deps.enrollmentTtlMs ? { enrollmentTtlMs: deps.enrollmentTtlMs } : {}) })
  const completions = createOperationCompletions()
  const secretBox = createSecretBox(deps.secretKey)
  const hub = createAgentHub({ prisma, logger, clock, operations, credentials: agentCredentials, metrics, completions, secretBox, ...deps.hub })
  const adminCredentials = createAdminCredentials({ prisma, clock, logger, ...(deps.hashParams ? { hashParams: deps.hashParams } : {}) })
  const servers = createServerService({ prisma })
  const serverActions = createServerActions({ prisma, hub, operations, completions })
  const clients = createClientService({ prisma, hub, operations, completions, secretBox, clock, profiles: deps.profiles ?? createProfileResolver() })
  return {
    prisma, logger, clock, logs, secretBox, operations, metrics, agentCredentials, completions, hub, adminCredentials, servers, serverActions, clients,

    /** Background work that must run while the master serves: metric flushes, reconciliation of old operations. */
    async start() {
      metrics.start()
      await hub.reconcileAtStart()
    },

    /** Stops background work and writes what is buffered. */
    async stop() {
      await hub.close()
      await metrics.stop()
      await logs.flush()
    },
  }
}

export type Services = ReturnType<typeof createServices>
