// What a real server runs beside its agent, for end-to-end tests through the master's REST API: a private nginx,
// MariaDB and PostgreSQL (reachable from containers), the fixture app images, and the agent settings that point
// at them. The master gets the fixture's app profile through ALFA_APP_PROFILES.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import { ensureFixtureImages, type FixtureImages } from '../fixtures/app/build.ts'
import { bridgeGateway, removeContainersByLabel, removeNetworksByLabel, removeVolumesByLabel } from './docker.ts'
import { startMariadb, type PrivateMariadb } from './mariadb.ts'
import { startNginx, type PrivateNginx } from './nginx.ts'
import { startPostgres, type TestPostgres } from './postgres.ts'
import type { AppProfile } from '@alfa/protocol'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'

export interface ServerServices {
  nginx: PrivateNginx
  mariadb: PrivateMariadb
  postgres: TestPostgres
  images: FixtureImages
  docker: Docker
  /** Environment for an agent driving these services. */
  agentEnv(dir: string): Record<string, string>
  /** Writes the master's ALFA_APP_PROFILES file (the fixture's profile, and `more` per repository); returns its path. */
  profilesFile(dir: string, more?: Record<string, AppProfile>): Promise<string>
  stop(): Promise<void>
}

/** The agent settings that drive these nginx, MariaDB and PostgreSQL instances, with its files under `dir`. */
export function agentEnvFor(
  s: { nginx: PrivateNginx; mariadb: PrivateMariadb; postgres: TestPostgres; gateway: string },
  dir: string,
): Record<string, string> {
  return {
    ALFA_AGENT_NGINX_ARGV_PREFIX: JSON.stringify(['nginx', ...s.nginx.nginxArgs]),
    ALFA_AGENT_NGINX_PID_FILE: s.nginx.pidPath,
    ALFA_AGENT_NGINX_SITES_DIR: s.nginx.confDir,
    ALFA_AGENT_NGINX_LISTEN: `127.0.0.1:${s.nginx.port}`,
    // Where nginx's www-data workers can see them, as /var/www/alfa-pages on a server (not under the agent's dir).
    ALFA_AGENT_PAGES_DIR: path.join(s.nginx.wwwDir, 'pages'),
    ALFA_AGENT_BACKUP_DIR: path.join(dir, 'backups'),
    ALFA_AGENT_ACME_WEBROOT: path.join(s.nginx.wwwDir, 'acme'),
    ALFA_AGENT_DB_MARIADB_URL: `mysql://${s.mariadb.adminUser}:${encodeURIComponent(s.mariadb.adminPassword)}@127.0.0.1:${s.mariadb.port}`,
    ALFA_AGENT_DB_POSTGRES_URL: s.postgres.url,
    ALFA_AGENT_DB_HOST_FOR_CONTAINERS: s.gateway,
    ALFA_AGENT_CONTAINER_MEMORY_MB: '256',
    ALFA_AGENT_HEALTH_TIMEOUT_MS: '30000',
  }
}

export async function startServerServices(): Promise<ServerServices> {
  const docker = new Docker()
  const [nginx, mariadb, postgres, images, gateway] = await Promise.all([
    startNginx(),
    startMariadb(),
    startPostgres({ containerAccess: true }),
    ensureFixtureImages(docker),
    bridgeGateway(docker),
  ])
  return {
    nginx,
    mariadb,
    postgres,
    images,
    docker,
    agentEnv: (dir) => agentEnvFor({ nginx, mariadb, postgres, gateway }, dir),
    async profilesFile(dir, more = {}) {
      const file = path.join(dir, 'profiles.json')
      await writeFile(file, JSON.stringify({ images: { 'alfa-test/app': FIXTURE_PROFILE, ...more } }))
      return file
    },
    async stop() {
      await Promise.allSettled([nginx.stop(), mariadb.stop(), postgres.stop()])
    },
  }
}

/** Removes every container and network a test's agents created (they carry alfa.server=<id>). */
export async function removeServerContainers(serverIds: string[], docker = new Docker()) {
  for (const id of serverIds) {
    await removeContainersByLabel(`alfa.server=${id}`, docker)
    await removeNetworksByLabel(`alfa.server=${id}`, docker)
    await removeVolumesByLabel(`alfa.server=${id}`, docker)
  }
}
