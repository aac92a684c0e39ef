// Two servers on this machine for the move and copy tests: server A on the shared server services (nginx, MariaDB,
// PostgreSQL), server B with its own nginx and MariaDB (and PostgreSQL, for servers of that engine), each with its
// own agent process, one master process, and both on the one Docker daemon (B's names carry a prefix, its networks
// another pool).
import http from 'node:http'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { startCluster, type Cluster } from './cluster.ts'
import { bridgeGateway } from './docker.ts'
import { startMariadb, type PrivateMariadb } from './mariadb.ts'
import { startNginx, type PrivateNginx } from './nginx.ts'
import { startPostgres, type TestPostgres } from './postgres.ts'
import { makeTempDir } from './process.ts'
import { agentEnvFor, removeServerContainers, startServerServices, type ServerServices } from './server-services.ts'

/** One GET through an nginx with a Host header, with the vhost marks. */
export function visit(port: number, host: string, urlPath = '/health') {
  return new Promise<{
    status: number
    site: string | undefined
    page: string | undefined
    forward: string | undefined
  }>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false, timeout: 10_000 },
      (res) => {
        res.resume()
        const h = (name: string) => res.headers[name] as string | undefined
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            site: h('x-alfa-site'),
            page: h('x-alfa-page'),
            forward: h('x-alfa-forward'),
          }),
        )
      },
    )
    req.on('error', reject)
  })
}

/** An admin connection to a private MariaDB (optionally on one database). */
export const mariadbAdmin = (db: PrivateMariadb, database?: string) =>
  mysql.createConnection({
    host: '127.0.0.1',
    port: db.port,
    user: db.adminUser,
    password: db.adminPassword,
    ...(database ? { database } : {}),
  })

type AddedAgent = Awaited<ReturnType<Cluster['addAgent']>>

export interface TwoServers {
  services: ServerServices
  nginxB: PrivateNginx
  mariadbB: PrivateMariadb
  /** B's own PostgreSQL, when both servers run PostgreSQL clients (`engine`). */
  postgresB: TestPostgres | undefined
  c: Cluster
  dir: string
  a: AddedAgent
  b: AddedAgent
  /** Each agent's environment, to start it again (with test hooks added). */
  envA: Record<string, string>
  envB: Record<string, string>
  stop(): Promise<void>
}

/**
 * Starts the two servers, named `<name>-a` and `<name>-b`. `dockerPrefix` and `networkPool` keep B's containers,
 * volumes and networks apart from A's and from other test files' (which may run at the same time).
 */
export async function startTwoServers(opts: {
  name: string
  dockerPrefix: string
  networkPool: string
  roleB?: 'production' | 'stage'
  masterEnv?: Record<string, string>
  /** The servers' database engine (MariaDB by default); with PostgreSQL, B gets a PostgreSQL of its own. */
  engine?: 'mariadb' | 'postgresql'
}): Promise<TwoServers> {
  const [services, nginxB, mariadbB, postgresB] = await Promise.all([
    startServerServices(),
    startNginx(),
    startMariadb(),
    opts.engine === 'postgresql' ? startPostgres({ containerAccess: true }) : undefined,
  ])
  const engine = opts.engine ? { dbEngine: opts.engine } : {}
  const dir = await makeTempDir(`alfa-e2e-${opts.name}`)
  const c = await startCluster({
    masterEnv: { ALFA_APP_PROFILES: await services.profilesFile(dir), ...opts.masterEnv },
  })
  const envA = services.agentEnv(path.join(dir, 'a'))
  const gateway = await bridgeGateway()
  const envB = {
    ...agentEnvFor(
      { nginx: nginxB, mariadb: mariadbB, postgres: postgresB ?? services.postgres, gateway },
      path.join(dir, 'b'),
    ),
    ALFA_AGENT_DOCKER_NAME_PREFIX: opts.dockerPrefix,
    ALFA_AGENT_CONTAINER_NETWORK_POOL: opts.networkPool,
  }
  let a: AddedAgent
  let b: AddedAgent
  try {
    a = await c.addAgent(`${opts.name}-a`, { env: envA, attributes: { sitesPort: services.nginx.port, ...engine } })
    b = await c.addAgent(`${opts.name}-b`, {
      env: envB,
      attributes: { sitesPort: nginxB.port, ...engine, ...(opts.roleB ? { role: opts.roleB } : {}) },
    })
  } catch (error) {
    await c.stop()
    await Promise.allSettled([services.stop(), nginxB.stop(), mariadbB.stop(), postgresB?.stop()])
    throw error
  }
  return {
    services,
    nginxB,
    mariadbB,
    postgresB,
    c,
    dir,
    a,
    b,
    envA,
    envB,
    async stop() {
      await c.stop()
      await removeServerContainers([a.id, b.id])
      await Promise.allSettled([services.stop(), nginxB.stop(), mariadbB.stop(), postgresB?.stop()])
    },
  }
}
