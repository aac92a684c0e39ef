import { wireError, type DbEngine } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { AgentConfig } from '../config.ts'
import type { Exec } from '../exec.ts'
import { createMariadbAdmin } from './database-mariadb.ts'
import { createPostgresAdmin } from './database-postgres.ts'
import type { DbAdmin } from './database-types.ts'

export type { DbAdmin } from './database-types.ts'

/** The admin driver of the engine a client uses; UNSUPPORTED when this server has no admin URL for it. */
export function dbAdminFor(
  engine: DbEngine,
  deps: { config: Pick<AgentConfig, 'dbMariadbUrl' | 'dbPostgresUrl'>; exec: Exec },
): DbAdmin {
  const url = engine === 'mariadb' ? deps.config.dbMariadbUrl : deps.config.dbPostgresUrl
  if (url === undefined) {
    const variable = engine === 'mariadb' ? 'ALFA_AGENT_DB_MARIADB_URL' : 'ALFA_AGENT_DB_POSTGRES_URL'
    throw new CommandError(wireError('UNSUPPORTED', `this server has no ${engine} configured (${variable})`))
  }
  return engine === 'mariadb'
    ? createMariadbAdmin({ url, exec: deps.exec })
    : createPostgresAdmin({ url, exec: deps.exec })
}
