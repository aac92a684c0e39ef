import { serve } from '@hono/node-server'
import { createApp } from './app.ts'
import { systemClock } from './clock.ts'
import { loadConfig } from './config.ts'
import { openDatabase } from './db/open-database.ts'
import { createLogger } from './logger.ts'

/** Entry point of `./scripts/start`: config → database (migrations applied) → admin credential → HTTP. */
async function main() {
  const config = loadConfig()
  const logger = createLogger({ level: config.logLevel })
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger })
  const { app, credentials } = createApp({ prisma: db.prisma, logger, clock: systemClock, maxBodyBytes: config.maxBodyBytes })

  const boot = await credentials.bootstrap({ user: config.adminUser, password: config.adminPassword })
  if (boot.generatedPassword) {
    // Printed once, on the terminal only: the JSON log never carries it, and it is not stored in clear anywhere.
    process.stdout.write(`\n  Alfa Cloud admin credential (shown once): ${boot.user} / ${boot.generatedPassword}\n  Rotate it with POST /cloud_admin_password.\n\n`)
  }

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info({ port: info.port, database: db.kind, dataDir: config.dataDir }, 'master listening')
  })

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    // Stop taking requests, let the ones in flight finish, then close the database; force after 10 s.
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    server.close(async () => {
      await db.close()
      logger.info('stopped')
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((err: unknown) => {
  process.stderr.write(`alfa-master failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
