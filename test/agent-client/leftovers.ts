// What a client left on the test server, looked at from outside the agent: containers (by label), the nginx site
// file, the MariaDB database and user. The fault tests require all of it gone after a rolled-back command.
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
}

export async function leftoversOf(
  env: Pick<AgentClientEnv, 'docker' | 'serverId' | 'mariadb' | 'config'>,
  slug: string,
): Promise<Leftovers> {
  const name = dbNameForSlug(slug)
  const [containers, site, dbs, users] = await Promise.all([
    containersOf(env as AgentClientEnv, slug),
    fs
      .stat(path.join(env.config.nginxSitesDir, `alfa-${slug}.conf`))
      .then(() => true)
      .catch(() => false),
    clientQuery(env as AgentClientEnv, 'information_schema', 'SELECT SCHEMA_NAME FROM SCHEMATA WHERE SCHEMA_NAME = ?', [
      name,
    ]),
    clientQuery(env as AgentClientEnv, 'mysql', 'SELECT User FROM mysql.user WHERE User = ?', [name]),
  ])
  return { containers: containers.map((c) => c.name), site, database: dbs.length > 0, user: users.length > 0 }
}

export const NOTHING_LEFT: Leftovers = { containers: [], site: false, database: false, user: false }

/** How many things are left, for the fault table. */
export const countLeftovers = (l: Leftovers): number =>
  l.containers.length + Number(l.site) + Number(l.database) + Number(l.user)
