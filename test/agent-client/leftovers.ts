// What a client left on the test server, looked at from outside the agent: containers (by label), the nginx site
// file, the MariaDB database and user, its data volumes (by label). The fault tests require all of it gone after a rolled-back command.
import fs from 'node:fs/promises'
import path from 'node:path'
import { dbNameForSlug } from '@alfa/protocol'
import { clientQuery, containersOf } from './client-db.ts'
import type { AgentClientEnv } from './harness.ts'

export interface Leftovers {
  containers: string[]
  site: boolean
  database: boolean
  user: boolean
  volumes: string[]
}

export async function leftoversOf(
  env: Pick<AgentClientEnv, 'docker' | 'serverId' | 'mariadb' | 'config'>,
  slug: string,
): Promise<Leftovers> {
  const name = dbNameForSlug(slug)
  const [containers, site, dbs, users, volumes] = await Promise.all([
    containersOf(env as AgentClientEnv, slug),
    fs
      .stat(path.join(env.config.nginxSitesDir, `alfa-${slug}.conf`))
      .then(() => true)
      .catch(() => false),
    clientQuery(env as AgentClientEnv, 'information_schema', 'SELECT SCHEMA_NAME FROM SCHEMATA WHERE SCHEMA_NAME = ?', [
      name,
    ]),
    clientQuery(env as AgentClientEnv, 'mysql', 'SELECT User FROM mysql.user WHERE User = ?', [name]),
    env.docker.listVolumes({ filters: { label: [`alfa.server=${env.serverId}`, `alfa.slug=${slug}`] } }),
  ])
  return {
    containers: containers.map((c) => c.name),
    site,
    database: dbs.length > 0,
    user: users.length > 0,
    volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
  }
}

export const NOTHING_LEFT: Leftovers = { containers: [], site: false, database: false, user: false, volumes: [] }

/** Everything a created client of the fixture app has (its profile names one data path, storage/app). */
export const wholeClient = (slug: string): Leftovers => ({
  containers: [`alfa-${slug}`],
  site: true,
  database: true,
  user: true,
  volumes: [`alfa-${slug}.storage-app`],
})

/** How many things are left, for the fault table. */
export const countLeftovers = (l: Leftovers): number =>
  l.containers.length + Number(l.site) + Number(l.database) + Number(l.user) + l.volumes.length
