import { wireError, type DbEngine } from '@alfa/protocol'
import { CommandError, type HandlerDeps } from '../command-context.ts'
import { createMariadbAdmin } from './database-mariadb.ts'
import { createPostgresAdmin } from './database-postgres.ts'
import type { DbAdmin } from './database-types.ts'
import { tenantLoginFromContainers } from './tenant-login.ts'

export type { DbAdmin } from './database-types.ts'

/**
 * The admin driver of the engine a client uses; UNSUPPORTED when this server has no admin URL for it. Statements
 * on tenant-owned objects log in as the tenant, with the login read from the client's container.
 */
export function dbAdminFor(
  engine: DbEngine,
  deps: Pick<HandlerDeps, 'config' | 'exec' | 'docker' | 'serverId' | 'tenantSessions'>,
): DbAdmin {
  const url = engine === 'mariadb' ? deps.config.dbMariadbUrl : deps.config.dbPostgresUrl
  if (url === undefined) {
    const variable = engine === 'mariadb' ? 'ALFA_AGENT_DB_MARIADB_URL' : 'ALFA_AGENT_DB_POSTGRES_URL'
    throw new CommandError(wireError('UNSUPPORTED', `this server has no ${engine} configured (${variable})`))
  }
  const o = { url, exec: deps.exec, tenantLogin: tenantLoginFromContainers(deps.docker, deps.serverId) }
  // Only MariaDB keeps tenant sessions so far (the toggles' cloud_settings writes measured there).
  const sessions = deps.tenantSessions ? { sessions: deps.tenantSessions } : {}
  return engine === 'mariadb' ? createMariadbAdmin({ ...o, ...sessions }) : createPostgresAdmin(o)
}
