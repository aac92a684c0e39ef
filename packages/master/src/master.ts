import { createAdaptorServer } from '@hono/node-server'
import { readFile } from 'node:fs/promises'
import type { Server as HttpServer } from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { createApp, type AppOptions } from './app.ts'
import type { Clock } from './clock.ts'
import type { MasterConfig } from './config.ts'
import { openDatabase } from './db/open-database.ts'
import { createServices, type ServicesDeps } from './services.ts'
import { bootstrapLocalServer } from './local-server.ts'
import { loadSecretKey } from './secrets/secret-box.ts'
import { parseTrustedProxies } from './http/client-address.ts'

/**
 * A running master: database open and migrated, services started, HTTP and the agents' WebSocket endpoint served on
 * one port. main.ts runs one; tests and benchmarks start them in-process or as child processes.
 */
export async function startMaster(opts: {
  config: Pick<
    MasterConfig,
    'port' | 'host' | 'dataDir' | 'databaseUrl' | 'adminUser' | 'adminPassword' | 'maxBodyBytes' | 'publicUrl'
  > &
    Partial<Pick<MasterConfig, 'trustedProxies' | 'tlsCert' | 'tlsKey'>>
  logger: Logger
  clock: Clock
  services?: Partial<Omit<ServicesDeps, 'prisma' | 'logger' | 'clock' | 'secretKey'>>
  app?: AppOptions
  /** Create the "local" server and a token for the local agent (./scripts/start). */
  localAgent?: boolean
  /** The local nginx's port for client sites (ALFA_SITES_PORT), recorded on the "local" server. */
  localSitesPort?: number
}) {
  const { config, logger, clock } = opts
  const trustedProxies = parseTrustedProxies(config.trustedProxies)
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger })
  const secretKey = await loadSecretKey({ envKey: process.env.ALFA_SECRET_KEY, dataDir: config.dataDir })
  const services = createServices({
    prisma: db.prisma,
    sql: db.sql,
    notifications: db.notifications,
    dataDir: config.dataDir,
    logger,
    clock,
    secretKey,
    ...opts.services,
    hub: { ...opts.services?.hub, upgradeThrottle: { trustedProxies, ...opts.services?.hub?.upgradeThrottle } },
  })
  const boot = await services.adminCredentials.bootstrap({ user: config.adminUser, password: config.adminPassword })
  await services.start()
  if (opts.localAgent) await bootstrapLocalServer(services, config.dataDir, logger, opts.localSitesPort)
  const app = createApp(services, {
    maxBodyBytes: config.maxBodyBytes,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    trustedProxies,
    ...opts.app,
  })

  // HTTPS when a certificate is configured: the REST API and the agents' wss:// share the one TLS listener.
  const tls =
    config.tlsCert && config.tlsKey
      ? { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) }
      : undefined
  const http = createAdaptorServer({
    fetch: app.fetch,
    ...(tls ? { createServer: https.createServer, serverOptions: tls } : {}),
  }) as HttpServer
  services.hub.attach(http)
  services.transfers.attach(http)
  // Agents reconnect by the thousand after a restart: a backlog of 4096 (somaxconn here) instead of Node's 511.
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve())
  })
  const port = (http.address() as AddressInfo).port
  logger.info({ port, tls: tls !== undefined, database: db.kind, dataDir: config.dataDir }, 'master listening')

  let stopped: Promise<void> | undefined
  return {
    app,
    services,
    db,
    port,
    boot,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    /** Stops taking requests, closes agent sockets, writes buffered logs and metrics, closes the database. */
    stop(): Promise<void> {
      stopped ??= (async () => {
        await services.stop()
        await new Promise<void>((resolve) => {
          http.close(() => resolve())
          http.closeAllConnections()
        })
        await db.close()
      })()
      return stopped
    },
  }
}

export type RunningMaster = Awaited<ReturnType<typeof startMaster>>
