import { systemClock } from './clock.ts'
import { loadConfig } from './config.ts'
import { createLogger } from './logger.ts'
import { startMaster } from './master.ts'
import { loadProfiles } from './clients/app-profiles.ts'
import { readMailConfig } from './mail/mail-env.ts'
import { readBuildConfig } from './images/build-config.ts'
import { tuneGarbageCollector } from './gc-tuning.ts'

/** Entry point of `./scripts/start`: config → database (migrations applied) → admin credential → HTTP + agents. */
async function main() {
  tuneGarbageCollector()
  const config = loadConfig()
  const logger = createLogger({ level: config.logLevel })
  // A stray rejection is a bug to log, not a reason to drop every agent socket and running request.
  process.on('unhandledRejection', (reason: unknown) => logger.error({ err: reason }, 'unhandled rejection'))
  const master = await startMaster({
    config,
    logger,
    clock: systemClock,
    services: readTuning(),
    localAgent: process.env.ALFA_LOCAL_AGENT === '1',
    ...(process.env.ALFA_SITES_PORT ? { localSitesPort: sitesPort(process.env.ALFA_SITES_PORT) } : {}),
    app: { testOperations: process.env.ALFA_TEST_OPERATIONS === '1' },
  })
  if (master.boot.generatedPassword) {
    // Printed once, on the terminal only: the JSON log never carries it, and it is not stored in clear anywhere.
    process.stdout.write(
      `\n  Alfa Cloud admin credential (shown once): ${master.boot.user} / ${master.boot.generatedPassword}\n  Rotate it with POST /cloud_admin_password.\n\n`,
    )
  }

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    master.stop().then(
      () => {
        logger.info('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        logger.error({ err }, 'unclean stop')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/** ALFA_SITES_PORT, checked: it goes into every local client's URL. */
function sitesPort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`invalid configuration: ALFA_SITES_PORT: ${JSON.stringify(value)} is not a port (1-65535)`)
  return port
}

/** Timing knobs (documented in README.md); tests shorten them to keep runs fast. */
function readTuning() {
  const num = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined)
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !Number.isNaN(v))) as Partial<T>
  return {
    hub: defined({
      maxAgents: num('ALFA_MAX_AGENTS'),
      heartbeatMs: num('ALFA_HEARTBEAT_MS'),
      graceMs: num('ALFA_RECONNECT_GRACE_MS'),
      deadlineSlackMs: num('ALFA_DEADLINE_SLACK_MS'),
    }),
    metrics: defined({
      flushMs: num('ALFA_METRICS_FLUSH_MS'),
      windowMs: num('ALFA_METRICS_WINDOW_MS'),
      sampleIntervalMs: num('ALFA_METRICS_INTERVAL_MS'),
    }),
    ...(num('ALFA_ENROLLMENT_TTL_MS') ? { enrollmentTtlMs: num('ALFA_ENROLLMENT_TTL_MS') } : {}),
    profiles: loadProfiles(process.env.ALFA_APP_PROFILES || undefined),
    clientMonitor: defined({ intervalMs: num('ALFA_CLIENT_CHECK_INTERVAL_MS') }),
    ...(process.env.ALFA_TIMEZONE ? { timeZone: process.env.ALFA_TIMEZONE } : {}),
    ...(num('ALFA_EXPIRY_CHECK_INTERVAL_MS') ? { expiryIntervalMs: num('ALFA_EXPIRY_CHECK_INTERVAL_MS') } : {}),
    mail: readMailConfig(process.env),
    fleet: defined({
      concurrency: num('ALFA_FLEET_CONCURRENCY'),
      maxFailures: num('ALFA_FLEET_MAX_FAILURES'),
    }),
    builds: readBuildConfig(process.env),
    ...(num('ALFA_MOVE_FORWARD_HOURS') ? { moveForwardHours: num('ALFA_MOVE_FORWARD_HOURS') } : {}),
    ...(num('ALFA_MOVE_AGENT_WAIT_MS') ? { moveAgentWaitMs: num('ALFA_MOVE_AGENT_WAIT_MS') } : {}),
    ...(num('ALFA_QUERY_RECORDS_FLUSH_MS') ? { queryRecordsFlushMs: num('ALFA_QUERY_RECORDS_FLUSH_MS') } : {}),
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`alfa-master failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
