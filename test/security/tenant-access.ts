// A tenant's own view of its database: the login its container holds (read from the container's environment, as
// the app inside would), and connections made with it, so tests can plant objects exactly as a tenant could.
import { containerNameForSlug, dbNameForSlug } from '@alfa/protocol'
import mysql from 'mysql2/promise'
import pg from 'pg'
import type { AgentClientEnv } from '../agent-client/harness.ts'

/** DB_USERNAME / DB_PASSWORD from the client's container environment. */
export async function tenantLogin(env: AgentClientEnv, slug: string): Promise<{ user: string; password: string }> {
  const info = await env.docker.getContainer(containerNameForSlug(slug)).inspect()
  const value = (key: string) => (info.Config.Env ?? []).find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1)
  const user = value('DB_USERNAME')
  const password = value('DB_PASSWORD')
  if (user !== dbNameForSlug(slug) || password === undefined) throw new Error(`no DB login in ${slug}'s container`)
  return { user, password }
}

/** A PostgreSQL connection to the client's database, as the tenant or (admin: true) as the superuser. */
export async function pgAs(env: AgentClientEnv, slug: string, who: 'tenant' | 'admin'): Promise<pg.Client> {
  const url = new URL(env.postgres.url)
  url.pathname = `/${dbNameForSlug(slug)}`
  if (who === 'tenant') {
    const login = await tenantLogin(env, slug)
    url.username = login.user
    url.password = encodeURIComponent(login.password)
  }
  const c = new pg.Client({ connectionString: url.toString() })
  await c.connect()
  return c
}

/** A MariaDB connection to the client's database, as the tenant or as the admin. */
export async function mariadbAs(env: AgentClientEnv, slug: string, who: 'tenant' | 'admin'): Promise<mysql.Connection> {
  const login = who === 'tenant' ? await tenantLogin(env, slug) : undefined
  return mysql.createConnection({
    host: '127.0.0.1',
    port: env.mariadb.port,
    user: login?.user ?? env.mariadb.adminUser,
    password: login?.password ?? env.mariadb.adminPassword,
    database: dbNameForSlug(slug),
    multipleStatements: true,
  })
}

/**
 * A plpgsql function `grab(place)` a tenant plants: it notes who ran it in `public.loot` (qualified: pg_restore empties search_path), then tries to escape to the
 * session's user (RESET ROLE), make itself superuser, join pg_execute_server_program and run a program that
 * touches `<marker>-<place>`. Each attempt in its own block, so a refused one neither stops the next nor fails the
 * statement that called it. Returns true (usable in a view's WHERE or a CHECK).
 */
export function pgGrabFunction(role: string, marker: string): string {
  return `CREATE FUNCTION grab(place text) RETURNS boolean LANGUAGE plpgsql AS $f$
    BEGIN
      BEGIN INSERT INTO public.loot VALUES (place || ' ran as ' || current_user || ' in a session of ' || session_user);
      EXCEPTION WHEN others THEN NULL; END;
      BEGIN RESET ROLE; EXCEPTION WHEN others THEN NULL; END;
      BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER CREATEROLE', '${role}'); EXCEPTION WHEN others THEN NULL; END;
      BEGIN EXECUTE format('GRANT pg_execute_server_program TO %I', '${role}'); EXCEPTION WHEN others THEN NULL; END;
      BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'touch ${marker}-' || place);
      EXCEPTION WHEN others THEN NULL; END;
      RETURN true;
    END $f$`
}

/** What a role holds that a tenant must never gain. */
export async function pgRoleRights(admin: pg.Client, role: string) {
  const { rows } = await admin.query(
    `SELECT rolsuper, rolcreaterole, pg_has_role($1, 'pg_execute_server_program', 'MEMBER') AS program
     FROM pg_roles WHERE rolname = $1`,
    [role],
  )
  return rows[0] as { rolsuper: boolean; rolcreaterole: boolean; program: boolean }
}
