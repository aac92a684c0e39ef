// The migration applier needs only two things from a connection; these adapt the two drivers we run on. Both keep
// one session, which matters: the advisory lock and BEGIN/COMMIT belong to the session that issued them.
import type { PGlite } from '@electric-sql/pglite'
import type pg from 'pg'

/** One database session that can run scripts and parameterised queries. */
export interface MigrationSession {
  /** Runs a script of one or more statements (simple query protocol, no parameters). */
  exec(sql: string): Promise<void>
  /** Runs one parameterised statement and returns its rows. */
  query<Row extends object>(sql: string, params?: unknown[]): Promise<Row[]>
}

/** A session over an embedded PGlite instance (it has exactly one connection). */
export function pgliteSession(db: PGlite): MigrationSession {
  return {
    exec: async (sql) => {
      await db.exec(sql)
    },
    query: async <Row extends object>(sql: string, params: unknown[] = []) => (await db.query<Row>(sql, params)).rows,
  }
}

/** A session over one connected node-postgres client (not a pool: the session must stay the same). */
export function pgClientSession(client: pg.Client): MigrationSession {
  return {
    exec: async (sql) => {
      await client.query(sql)
    },
    query: async <Row extends object>(sql: string, params: unknown[] = []) =>
      (await client.query<Row & pg.QueryResultRow>(sql, params)).rows,
  }
}
