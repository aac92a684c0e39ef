import pg from 'pg'
import type { Exec } from '../exec.ts'
import { dbFailure, identifier, parseAdminUrl, settingsValues, type DbAdmin } from './database-types.ts'

const SETTINGS_DDL = `CREATE TABLE IF NOT EXISTS cloud_settings (
  id smallint PRIMARY KEY CHECK (id = 1),
  maintenance boolean NOT NULL DEFAULT false,
  expire_date date NULL,
  turbostart boolean NOT NULL DEFAULT false,
  tutorial boolean NOT NULL DEFAULT false,
  version varchar(64) NULL
)`
const SETTINGS_UPSERT = `INSERT INTO cloud_settings (id, maintenance, expire_date, turbostart, tutorial, version)
VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET maintenance = EXCLUDED.maintenance,
expire_date = EXCLUDED.expire_date, turbostart = EXCLUDED.turbostart, tutorial = EXCLUDED.tutorial, version = EXCLUDED.version`

/** PostgreSQL administration through pg; identifiers validated and quoted with escapeIdentifier. */
export function createPostgresAdmin(o: { url: string; exec: Exec }): DbAdmin {
  const admin = parseAdminUrl(o.url, 5432)

  async function withClient<T>(
    database: string | undefined,
    what: string,
    work: (c: pg.Client) => Promise<T>,
    secrets: string[] = [],
  ): Promise<T> {
    const url = new URL(o.url)
    if (database) url.pathname = `/${database}`
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 })
    try {
      await client.connect()
      return await work(client)
    } catch (error) {
      throw dbFailure(error, what, [...secrets, admin.password])
    } finally {
      await client.end().catch(() => undefined)
    }
  }

  async function exists(c: pg.Client, name: string) {
    const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    const role = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])
    return { database: (db.rowCount ?? 0) > 0, user: (role.rowCount ?? 0) > 0 }
  }

  return {
    engine: 'postgresql',
    port: admin.port,
    laravelConnection: 'pgsql',
    exists: (name) => withClient(undefined, `checking database ${name}`, (c) => exists(c, identifier(name))),

    create: (name, password) =>
      withClient(
        undefined,
        `creating database ${name}`,
        async (c) => {
          const role = c.escapeIdentifier(identifier(name))
          const before = await exists(c, name)
          // DDL takes no bind parameters: the password goes in through escapeLiteral, and out of every message.
          const verb = before.user ? 'ALTER' : 'CREATE'
          await c.query(
            `${verb} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${c.escapeLiteral(password)}`,
          )
          // A non-superuser admin must be a member of the role to create a database it owns (a no-op for a superuser).
          await c.query(`GRANT ${role} TO CURRENT_USER`)
          if (!before.database) await c.query(`CREATE DATABASE ${role} OWNER ${role} ENCODING 'UTF8'`)
          else await c.query(`ALTER DATABASE ${role} OWNER TO ${role}`)
          // Other clients' roles must not even connect to this database.
          await c.query(`REVOKE ALL ON DATABASE ${role} FROM PUBLIC`)
          return { database: !before.database, user: !before.user }
        },
        [password],
      ),

    drop: (name) =>
      withClient(undefined, `dropping database ${name}`, async (c) => {
        const role = c.escapeIdentifier(identifier(name))
        const before = await exists(c, name)
        // FORCE ends the app's open connections (the container may still be stopping).
        await c.query(`DROP DATABASE IF EXISTS ${role} WITH (FORCE)`)
        await c.query(`DROP ROLE IF EXISTS ${role}`)
        return before
      }),

    writeSettings: (name, settings) =>
      withClient(identifier(name), `writing cloud_settings of ${name}`, async (c) => {
        await c.query(SETTINGS_DDL)
        // Made by the admin, so owned by the admin: hand it to the client's role or the app cannot read it.
        await c.query(`ALTER TABLE cloud_settings OWNER TO ${c.escapeIdentifier(name)}`)
        await c.query(SETTINGS_UPSERT, [...settingsValues(settings)])
      }),

    count: (name, sql) =>
      withClient(identifier(name), `counting in ${name}`, async (c) => {
        // The SQL is the profile's (master configuration) but runs as admin: read-only, so it can change nothing.
        await c.query('BEGIN READ ONLY')
        try {
          const result = await c.query({ text: sql, rowMode: 'array' })
          return Number((result.rows as unknown[][])[0]?.[0] ?? 0)
        } finally {
          await c.query('ROLLBACK')
        }
      }),

    async dump(name, file, signal) {
      const db = identifier(name)
      // No connection string on argv (it could carry the password): discrete flags, the password via PGPASSWORD.
      const argv = [
        'pg_dump',
        '--no-password',
        '--host',
        admin.host,
        '--port',
        String(admin.port),
        '--username',
        admin.user,
      ]
      argv.push('--format', 'plain', '--file', file, '--dbname', db)
      const env = { ...process.env, ...(admin.password ? { PGPASSWORD: admin.password } : {}) }
      await o.exec(argv, { env, redact: [admin.password], timeoutMs: 600_000, ...(signal ? { signal } : {}) })
    },

    async restore(name, file, signal) {
      const db = identifier(name)
      // Recreated as create() makes it (owned by the client's role, closed to PUBLIC); the dump's own
      // `ALTER … OWNER TO` lines give the tables back to the role. FORCE cuts the app's connections.
      await withClient(undefined, `recreating ${db} for the restore`, async (c) => {
        const role = c.escapeIdentifier(db)
        await c.query(`DROP DATABASE IF EXISTS ${role} WITH (FORCE)`)
        await c.query(`CREATE DATABASE ${role} OWNER ${role} ENCODING 'UTF8'`)
        await c.query(`REVOKE ALL ON DATABASE ${role} FROM PUBLIC`)
      })
      const argv = [
        'psql',
        '--no-psqlrc',
        '--no-password',
        '--quiet',
        '--set',
        'ON_ERROR_STOP=1',
        '--host',
        admin.host,
        '--port',
        String(admin.port),
      ]
      argv.push('--username', admin.user, '--dbname', db, '--file', file)
      const env = { ...process.env, ...(admin.password ? { PGPASSWORD: admin.password } : {}) }
      await o.exec(argv, { env, redact: [admin.password], timeoutMs: 600_000, ...(signal ? { signal } : {}) })
      return { connectionsEnded: true }
    },
  }
}
