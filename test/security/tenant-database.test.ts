// A tenant plants a trigger, a function and a view in its own database (it holds the password: its container has
// it), then the agent's maintenance toggle, users count and switch run: the tenant gains nothing. The agent runs
// those statements logged in as the tenant, so whatever it planted runs with the tenant's rights, no more.
import fs from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import type { ClientCreatePayload } from '@alfa/protocol'
import { beforeAll, describe, expect, it } from 'vitest'
import { allLines, FIXTURE_PROFILE } from '../agent-client/harness.ts'
import { mariadbAs, pgAs, pgGrabFunction, pgRoleRights, tenantLogin } from './tenant-access.ts'
import { recordCase, reportSecurityCases } from './report.ts'
import { useTenantEnv } from './tenant-setup.ts'

reportSecurityCases()
const tenants = useTenantEnv({ markersPrefix: 'alfa-sec' })
const { markers, createClient } = tenants

const configure = (p: ClientCreatePayload, maintenance: boolean) =>
  tenants.env.run('client.configure', {
    clientId: p.clientId,
    slug: p.slug,
    dbEngine: p.dbEngine,
    settings: { ...p.settings, maintenance },
    expired: false,
  })
const usersCount = (p: ClientCreatePayload) =>
  tenants.env.run('client.app', { slug: p.slug, action: 'usersCount', profile: FIXTURE_PROFILE, dbEngine: p.dbEngine })
const switchTo = (p: ClientCreatePayload, image: string) =>
  tenants.env.run('client.switch', {
    clientId: p.clientId,
    slug: p.slug,
    domain: p.domain,
    dbEngine: p.dbEngine,
    image,
    profile: FIXTURE_PROFILE,
    settings: { ...p.settings, version: null },
  })

describe('PostgreSQL: a planted trigger, function and view', () => {
  let p: ClientCreatePayload
  let role: string
  const marker = path.join(markers, 'pg-program')

  /** What the tenant would have gained: superuser, a privileged role, a file written by COPY … TO PROGRAM. */
  async function gained() {
    const admin = await pgAs(tenants.env, p.slug, 'admin')
    try {
      const rights = await pgRoleRights(admin, role)
      const loot = await admin.query('SELECT what FROM loot ORDER BY what')
      const files = fs.readdirSync(markers).filter((f) => f.startsWith('pg-'))
      return { role: rights, files, loot: loot.rows.map((r: { what: string }) => r.what) }
    } finally {
      await admin.end()
    }
  }
  const nothing = { role: { rolsuper: false, rolcreaterole: false, program: false }, files: [] }

  beforeAll(async () => {
    p = await createClient('sec-pg', 'postgresql')
    role = (await tenantLogin(tenants.env, p.slug)).user
    const t = await pgAs(tenants.env, p.slug, 'tenant')
    try {
      await t.query('CREATE TABLE loot (what text)')
      await t.query(pgGrabFunction(role, marker))
      await t.query(`CREATE FUNCTION grab_row() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN PERFORM grab('trigger'); RETURN NEW; END $f$`)
      await t.query(
        'CREATE TRIGGER grab BEFORE INSERT OR UPDATE ON cloud_settings FOR EACH ROW EXECUTE FUNCTION grab_row()',
      )
      await t.query('ALTER TABLE users RENAME TO users_real')
      await t.query("CREATE VIEW users AS SELECT * FROM users_real WHERE grab('view')")
    } finally {
      await t.end()
    }
  })

  it('a maintenance toggle fires the trigger as the tenant: no superuser, no grant, no program run', async () => {
    for (const maintenance of [true, false]) {
      const run = await configure(p, maintenance)
      expect(run.result, allLines(run)).toMatchObject({ ok: true })
    }
    const after = await gained()
    recordCase('PostgreSQL: trigger on cloud_settings during configure', !after.role.rolsuper && !after.files.length)
    // The trigger did run (BEFORE INSERT and BEFORE UPDATE per upsert), only ever as the tenant, in its own session.
    // The view may run too: configure confirms through nginx, and the app answering reads users in its own session.
    expect(after.loot.length).toBeGreaterThanOrEqual(2)
    expect(after.loot).toContain(`trigger ran as ${role} in a session of ${role}`)
    for (const line of after.loot)
      expect(line).toMatch(new RegExp(`^(trigger|view) ran as ${role} in a session of ${role}$`))
    expect(after).toMatchObject(nothing)
  })

  it('the users count reads the planted view as the tenant: the count is right, nothing gained', async () => {
    const run = await usersCount(p)
    // 1 row through the view: the view (and its function) was evaluated.
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { usersCount: 1 } })
    const after = await gained()
    expect(recordCase('PostgreSQL: function in a view named users during the count', after.role.rolsuper === false))
    expect(after).toMatchObject(nothing)
  })

  it('a switch to 2.0.0 (dump, migrate, settings) leaves the tenant with nothing more', async () => {
    // The view goes back to a table (2.0.0 adds a column to users); the trigger and the function stay.
    const t = await pgAs(tenants.env, p.slug, 'tenant')
    await t.query('DROP VIEW users; ALTER TABLE users_real RENAME TO users').finally(() => t.end())
    const before = (await gained()).loot.filter((l) => l.startsWith('trigger')).length
    const run = await switchTo(p, tenants.env.images.good2)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    const after = await gained()
    // The switch's settings write fired the trigger again, as the tenant; nothing ever ran as anyone else.
    expect(after.loot.filter((l) => l.startsWith('trigger')).length).toBeGreaterThan(before)
    for (const line of after.loot)
      expect(line).toMatch(new RegExp(`^(trigger|view) ran as ${role} in a session of ${role}$`))
    expect(recordCase('PostgreSQL: trigger during a switch', after.role.rolsuper === false))
    expect(after).toMatchObject(nothing)
  })
})

describe('MariaDB: a planted trigger, function and SQL SECURITY INVOKER view', () => {
  let p: ClientCreatePayload
  const marker = path.join(markers, `maria-outfile-${randomUUID()}`)
  let grantsBefore: string[]
  let maxConnections: number

  async function gained() {
    const admin = await mariadbAs(tenants.env, p.slug, 'admin')
    try {
      const [grants] = await admin.query(`SHOW GRANTS FOR ?@'%'`, [(await tenantLogin(tenants.env, p.slug)).user])
      const [vars] = await admin.query('SELECT @@global.max_connections AS m')
      const [loot] = await admin.query('SELECT what FROM loot ORDER BY what')
      return {
        grants: (grants as Record<string, string>[]).map((g) => String(Object.values(g)[0])),
        maxConnections: (vars as { m: number }[])[0]?.m,
        outfile: fs.existsSync(marker),
        loot: (loot as { what: string }[]).map((r) => r.what),
      }
    } finally {
      await admin.end()
    }
  }

  beforeAll(async () => {
    p = await createClient('sec-maria', 'mariadb')
    const before = await mariadbAs(tenants.env, p.slug, 'admin')
    const [vars] = await before.query('SELECT @@global.max_connections AS m')
    maxConnections = (vars as { m: number }[])[0]!.m
    await before.end()
    const t = await mariadbAs(tenants.env, p.slug, 'tenant')
    try {
      await t.query('CREATE TABLE loot (what VARCHAR(200))')
      // With the admin's rights: a global changed (general_log_file would be next) and a file written as mysqld.
      await t.query(`CREATE FUNCTION grab() RETURNS INT SQL SECURITY INVOKER
        BEGIN
          DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END;
          SET GLOBAL max_connections = 4321;
          SELECT 'owned' INTO OUTFILE '${marker}';
          RETURN 1;
        END`)
      for (const event of ['INSERT', 'UPDATE']) {
        await t.query(`CREATE TRIGGER grab_${event} BEFORE ${event} ON cloud_settings FOR EACH ROW BEGIN
          INSERT INTO loot VALUES (CONCAT('trigger ran as ', CURRENT_USER()));
          SET @g = grab();
        END`)
      }
      await t.query('RENAME TABLE users TO users_real')
      await t.query('CREATE SQL SECURITY INVOKER VIEW users AS SELECT * FROM users_real WHERE grab() = 1')
    } finally {
      await t.end()
    }
    grantsBefore = (await gained()).grants
  })

  const nothing = () => ({ grants: grantsBefore, maxConnections, outfile: false })

  it('a maintenance toggle fires the trigger: no global changed, no file written, same grants', async () => {
    for (const maintenance of [true, false]) {
      const run = await configure(p, maintenance)
      expect(run.result, allLines(run)).toMatchObject({ ok: true })
    }
    const after = await gained()
    expect(after.loot.filter((l) => l.startsWith('trigger ran as alfa_sec_maria@')).length).toBeGreaterThan(0)
    expect(recordCase('MariaDB: trigger on cloud_settings during configure', !after.outfile))
    expect(after).toMatchObject(nothing())
  })

  it('the users count reads the INVOKER view as the tenant: the count is right, nothing gained', async () => {
    const run = await usersCount(p)
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { usersCount: 1 } })
    const after = await gained()
    const held = !after.outfile && after.maxConnections === maxConnections
    expect(recordCase('MariaDB: SQL SECURITY INVOKER view named users during the count', held)).toBe(true)
    expect(after).toMatchObject(nothing())
  })

  it('a switch to 2.0.0 leaves the tenant with nothing more', async () => {
    const t = await mariadbAs(tenants.env, p.slug, 'tenant')
    await t.query('DROP VIEW users; RENAME TABLE users_real TO users').finally(() => t.end())
    const run = await switchTo(p, tenants.env.images.good2)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    const after = await gained()
    expect(recordCase('MariaDB: trigger during a switch', !after.outfile)).toBe(true)
    expect(after).toMatchObject(nothing())
  })
})
