import mysql from 'mysql2/promise'
import pg from 'pg'
import type { DbEngine } from '@alfa/protocol'
import type { AgentConfig } from '../config.ts'
import { DB_TIMEOUTS, DUMP_TIMEOUT_MS, dbFailure, identifier, parseAdminUrl } from './database-types.ts'

/** Rows per base table of a client's database, to check a restore brought back what the snapshot held. */
export type RowCounts = Record<string, number>

/**
 * Counts the rows of every base table of `name` through the admin connection. Only base tables, qualified names
 * and plain COUNT(*): no view, trigger or function of the tenant runs (PostgreSQL: row security off, so a policy
 * makes the count fail rather than run the tenant's code as the admin; search_path pinned).
 *
 * Bounds: a count reads every row, as the dump does, so a statement may run as long as a dump may (60 s, as it was
 * on PostgreSQL, failed the verify of every move of a table too large to count in a minute); waiting for a lock is
 * bounded as every other admin statement's (5 s): a count queued behind another session's DDL or table lock fails
 * with that reason instead of waiting (MariaDB's metadata lock wait defaults to a year).
 */
export async function rowCounts(
  engine: DbEngine,
  config: Pick<AgentConfig, 'dbMariadbUrl' | 'dbPostgresUrl'>,
  name: string,
): Promise<RowCounts> {
  const db = identifier(name)
  const counts: RowCounts = {}
  if (engine === 'mariadb') {
    const admin = parseAdminUrl(config.dbMariadbUrl ?? '', 3306)
    let c: mysql.Connection | undefined
    try {
      c = await mysql.createConnection({ ...admin, database: db, connectTimeout: DB_TIMEOUTS.connectMs })
      const lockS = DB_TIMEOUTS.lockMs / 1000
      await c.query(
        `SET SESSION max_statement_time = ${DUMP_TIMEOUT_MS / 1000}, lock_wait_timeout = ${lockS}, innodb_lock_wait_timeout = ${lockS}`,
      )
      const [tables] = await c.query(
        "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
        [db],
      )
      for (const { n } of tables as { n: string }[]) {
        const [rows] = await c.query(`SELECT COUNT(*) AS n FROM ${c.escapeId(db)}.${c.escapeId(n)}`)
        counts[n] = Number((rows as { n: number }[])[0]?.n ?? 0)
      }
      return counts
    } catch (error) {
      throw dbFailure(error, `counting the rows of ${db}`, [admin.password])
    } finally {
      await c?.end().catch(() => undefined)
    }
  }
  const url = new URL(config.dbPostgresUrl ?? '')
  url.pathname = `/${db}`
  const client = new pg.Client({
    connectionString: url.toString(),
    connectionTimeoutMillis: DB_TIMEOUTS.connectMs,
    statement_timeout: DUMP_TIMEOUT_MS,
    lock_timeout: DB_TIMEOUTS.lockMs,
  })
  try {
    await client.connect()
    await client.query('SET search_path = pg_catalog; SET row_security = off')
    const { rows: tables } = await client.query<{ s: string; n: string }>(
      "SELECT schemaname AS s, tablename AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    for (const { s, n } of tables) {
      const qualified = `${client.escapeIdentifier(s)}.${client.escapeIdentifier(n)}`
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`)
      counts[`${s}.${n}`] = Number(rows[0]?.n ?? 0)
    }
    return counts
  } catch (error) {
    throw dbFailure(error, `counting the rows of ${db}`, [decodeURIComponent(url.password)])
  } finally {
    await client.end().catch(() => undefined)
  }
}
