// The row counts a move's, copy's, switch's and restore's verify rest on, on real MariaDB and PostgreSQL: exact
// counts per base table, and a count queued behind another session's lock fails within seconds, naming the lock,
// instead of waiting (MariaDB's metadata lock wait defaults to a year; PostgreSQL's count gave up only after 60 s,
// a bound that also failed every count of a table too large to read in a minute).
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { rowCounts } from '../../packages/agent/src/drivers/row-counts.ts'
import { startMariadb, type PrivateMariadb } from '../support/mariadb.ts'
import { createTestDatabase } from '../support/postgres.ts'

/**
 * How a count ended, its error kept as an outcome; fails the test after 25 s instead of letting a count that waits
 * run into the suite's own timeout.
 */
function settled(work: Promise<Record<string, number>>): Promise<{ counts: unknown } | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('still waiting after 25000 ms')), 25_000)
  })
  const outcome = work.then(
    (counts) => ({ counts }),
    (error: unknown) => ({ error }),
  )
  return Promise.race([outcome, limit]).finally(() => clearTimeout(timer))
}

describe('row counts on MariaDB', () => {
  let db: PrivateMariadb
  let admin: mysql.Connection
  const name = 'alfa_rowcount_m'
  const config = () => ({
    dbMariadbUrl: `mysql://${db.adminUser}:${encodeURIComponent(db.adminPassword)}@127.0.0.1:${db.port}`,
  })

  beforeAll(async () => {
    db = await startMariadb()
    admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      multipleStatements: true,
    })
    await admin.query(
      `CREATE DATABASE ${name}; USE ${name};
       CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20));
       INSERT INTO items (v) VALUES ('a'), ('b'), ('c');
       CREATE TABLE empty_one (id INT PRIMARY KEY);
       CREATE VIEW items_view AS SELECT * FROM items`,
    )
  })
  afterAll(async () => {
    await admin?.end()
    await db?.stop()
  })

  it('counts the rows of every base table, views left out', async () => {
    expect(await rowCounts('mariadb', config(), name)).toEqual({ items: 3, empty_one: 0 })
  })

  it('fails within seconds, naming the lock, while another session holds a table locked', async () => {
    const holder = await mysql.createConnection({
      host: '127.0.0.1',
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: name,
    })
    try {
      await holder.query('LOCK TABLES items WRITE')
      const started = Date.now()
      const outcome = await settled(rowCounts('mariadb', config(), name))
      console.log(`MariaDB count behind LOCK TABLES … WRITE ended after ${Date.now() - started} ms`)
      expect(outcome).toHaveProperty('error')
      expect(String((outcome as { error: unknown }).error)).toMatch(/counting the rows of alfa_rowcount_m.*lock wait/i)
      await holder.query('UNLOCK TABLES')
      // The lock gone, the same count succeeds: nothing was left half-done.
      expect(await rowCounts('mariadb', config(), name)).toEqual({ items: 3, empty_one: 0 })
    } finally {
      await holder.end()
    }
  })
})

describe('row counts on PostgreSQL', () => {
  let url: URL
  let admin: pg.Client
  let name: string

  beforeAll(async () => {
    url = new URL(await createTestDatabase(inject('postgresAdminUrl')))
    name = url.pathname.slice(1)
    admin = new pg.Client({ connectionString: url.toString() })
    await admin.connect()
    await admin.query(`CREATE SCHEMA app;
      CREATE TABLE public.items (id serial PRIMARY KEY, v text);
      INSERT INTO public.items (v) VALUES ('a'), ('b');
      CREATE TABLE app.notes (id serial PRIMARY KEY);
      CREATE VIEW public.items_view AS SELECT * FROM public.items`)
  })
  afterAll(async () => {
    await admin?.end()
  })

  const config = () => {
    const server = new URL(url)
    server.pathname = '/postgres'
    return { dbPostgresUrl: server.toString() }
  }

  it('counts the rows of every base table in every schema, views left out', async () => {
    expect(await rowCounts('postgresql', config(), name)).toEqual({ 'public.items': 2, 'app.notes': 0 })
  })

  it('fails within seconds, naming the lock, while another session holds a table exclusively', async () => {
    const holder = new pg.Client({ connectionString: url.toString() })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query('LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE')
      const started = Date.now()
      const outcome = await settled(rowCounts('postgresql', config(), name))
      console.log(`PostgreSQL count behind ACCESS EXCLUSIVE ended after ${Date.now() - started} ms`)
      expect(outcome).toHaveProperty('error')
      expect(String((outcome as { error: unknown }).error)).toMatch(/counting the rows of .*lock timeout/i)
      await holder.query('ROLLBACK')
      expect(await rowCounts('postgresql', config(), name)).toEqual({ 'public.items': 2, 'app.notes': 0 })
    } finally {
      await holder.end()
    }
  })
})
