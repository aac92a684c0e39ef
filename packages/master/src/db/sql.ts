// The hot paths' way to the database: one parameterised statement straight through the driver. The ORM (and even its
// $queryRaw) costs 250–700 µs of the master's CPU per statement over the driver's ~100 µs; a command's round trip makes
// three statements and GET /servers one, under load that is most of their time. Everything else stays on Prisma.
import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'

/** PostgreSQL's type ids of the values we parse ourselves. */
const TIMESTAMP = 1114

/**
 * Prisma keeps DateTime as `timestamp(3)` in UTC. Read one as UTC, whatever the process's or session's time zone
 * (both drivers would otherwise read it as local time).
 */
function parseTimestamp(text: string): Date {
  return new Date(`${text.replace(' ', 'T')}Z`)
}

/**
 * Dates go out as ISO strings: PostgreSQL drops the zone of an ISO literal for a `timestamp` column, which keeps it in
 * UTC (the drivers would send local time with an offset, or depend on the session's zone).
 */
function param(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value
}

export interface Sql {
  /**
   * Runs one statement with $1… parameters and returns its rows. Timestamps come back as Dates in UTC, json as
   * values, enums as text. `name` lets PostgreSQL keep the statement's plan per connection (a prepared statement).
   */
  query<Row>(text: string, params?: readonly unknown[], name?: string): Promise<Row[]>
  /**
   * Runs `fn`'s statements in one transaction on one connection (BEGIN … COMMIT, ROLLBACK when it throws): the
   * locking start of an operation in four round trips instead of the ORM's interactive transaction.
   */
  transaction<R>(fn: (tx: Pick<Sql, 'query'>) => Promise<R>): Promise<R>
}

export function pgSql(pool: pg.Pool): Sql {
  // Per query, so the pool Prisma shares with us keeps the driver's global parsers (its adapter brings its own).
  const types: pg.CustomTypesConfig = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === TIMESTAMP
        ? parseTimestamp
        : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
  }
  const on = (db: pg.Pool | pg.PoolClient): Pick<Sql, 'query'> => ({
    async query<Row>(text: string, params: readonly unknown[] = [], name?: string) {
      const result = await db.query({ text, values: params.map(param), types, ...(name ? { name } : {}) })
      return result.rows as Row[]
    },
  })
  return {
    ...on(pool),
    async transaction<R>(fn: (tx: Pick<Sql, 'query'>) => Promise<R>) {
      const client = await pool.connect()
      // A connection whose ROLLBACK failed is in an unknown state: it is destroyed instead of going back to the pool.
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        const result = await fn(on(client))
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch((rollback: unknown) => {
          broken = rollback instanceof Error ? rollback : new Error(String(rollback))
        })
        throw err
      } finally {
        client.release(broken)
      }
    },
  }
}

export function pgliteSql(db: PGlite): Sql {
  const parsers = { [TIMESTAMP]: parseTimestamp }
  const on = (q: Pick<PGlite, 'query'>): Pick<Sql, 'query'> => ({
    async query<Row>(text: string, params: readonly unknown[] = []) {
      const result = await q.query<Row>(text, params.map(param), { parsers })
      return result.rows
    },
  })
  return {
    ...on(db),
    transaction: (fn) => db.transaction((tx) => fn(on(tx))),
  }
}
