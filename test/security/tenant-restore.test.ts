// Restores run no client commands and nothing of the tenant's with the admin's rights: a PostgreSQL dump is a
// custom-format archive restored by pg_restore logged in as the tenant (psql would run `\!` from a plain file,
// CVE-2025-8714/-8715, and a CHECK calling the tenant's function would run as the admin); MariaDB loads with
// --binary-mode, which runs no `\!` either. Each payload is first shown live against the bare client tool.
import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { dbNameForSlug } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { dbAdminFor } from '../../packages/agent/src/drivers/database.ts'
import { allLines, FIXTURE_PROFILE } from '../agent-client/harness.ts'
import { fetchVhost } from '../support/nginx.ts'
import { pgAs, pgGrabFunction, pgRoleRights, tenantLogin } from './tenant-access.ts'
import { recordCase, reportSecurityCases } from './report.ts'
import { useTenantEnv } from './tenant-setup.ts'

const run = promisify(execFile)
reportSecurityCases()
// A short prefix: a path under it goes into a table name below, and PostgreSQL cuts names at 63 bytes.
const tenants = useTenantEnv({ markersPrefix: 'restore', agentEnv: { ALFA_AGENT_HEALTH_TIMEOUT_MS: '6000' } })
const { markers, createClient } = tenants
/** Runs argv with `file` on stdin (how a dump is fed to a client tool); resolves with the exit code. */
function runWithStdin(argv: string[], file: string, extraEnv: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...extraEnv },
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    fs.createReadStream(file).pipe(child.stdin)
    child.on('error', reject).on('close', resolve)
  })
}
const markerFiles = () => fs.readdirSync(markers).filter((f) => !f.endsWith('.sql'))

/** A plain SQL file whose middle line is a client command touching `marker` (what a crafted dump would carry). */
function craftedDump(name: string, marker: string, trailer: string): string {
  const file = path.join(markers, `${name}.sql`)
  fs.writeFileSync(file, `SELECT 1;\n\\! touch ${marker}\nSELECT 2;\n${trailer}\n`)
  return file
}

describe('PostgreSQL restores', () => {
  it('a plain file carrying \\! is refused before anything is dropped or run', async () => {
    const p = await createClient('rst-pg-file', 'postgresql')
    const marker = path.join(markers, 'pg-file-ran')
    const file = craftedDump('pg-crafted', marker, '-- PostgreSQL database dump complete')
    // Live: psql itself runs it.
    const url = new URL(tenants.env.postgres.url)
    const psql = ['--no-psqlrc', '-h', url.hostname, '-p', url.port, '-U', 'postgres', '-d', 'postgres', '-f', file]
    await run('psql', psql)
    expect(fs.existsSync(marker)).toBe(true)
    fs.rmSync(marker)

    const db = dbAdminFor('postgresql', tenants.env.deps)
    await expect(db.restore(dbNameForSlug(p.slug), file)).rejects.toThrow(/incomplete or unreadable/)
    const held = !fs.existsSync(marker)
    expect(recordCase('PostgreSQL: a plain dump carrying \\! runs nothing', held)).toBe(true)
    // Refused before the drop: the client's data is all there.
    const page = await fetchVhost(tenants.env.nginx.port, p.domain, '/')
    expect(page.body).toContain('<p id="users">users: 1</p>')
  })

  it("a rollback restores a name with \\! and a CHECK calling the tenant's function: nothing runs, nothing gained", async () => {
    const p = await createClient('rst-pg', 'postgresql')
    const role = (await tenantLogin(tenants.env, p.slug)).user
    const marker = path.join(markers, 'pg')
    // The CVE shape: a name that ends a line and starts a psql command on the next.
    const planted = `x\n\\! touch ${marker}-name\n`
    expect(Buffer.byteLength(planted), `${JSON.stringify(planted)} must fit a PostgreSQL name`).toBeLessThan(64)
    const t = await pgAs(tenants.env, p.slug, 'tenant')
    try {
      await t.query('CREATE TABLE loot (what text)')
      await t.query(pgGrabFunction(role, marker))
      await t.query(`CREATE TABLE "${planted}" (id int)`)
      await t.query("CREATE TABLE guarded (n int CHECK (grab('check')))")
      await t.query('INSERT INTO guarded VALUES (1), (2)')
      await t.query('DELETE FROM loot')
    } finally {
      await t.end()
    }
    // broken-migrate fails the switch, so the rollback restores the snapshot.
    const switched = await tenants.env.run('client.switch', {
      clientId: p.clientId,
      slug: p.slug,
      domain: p.domain,
      dbEngine: 'postgresql',
      image: tenants.env.images.brokenMigrate,
      profile: FIXTURE_PROFILE,
      settings: p.settings,
    })
    expect(switched.result).toMatchObject({ ok: false })
    expect(allLines(switched)).toContain('restored from the snapshot')
    expect(allLines(switched)).toContain('the old version answers again')

    const admin = await pgAs(tenants.env, p.slug, 'admin')
    try {
      const rights = await pgRoleRights(admin, role)
      const names = await admin.query("SELECT relname FROM pg_class WHERE relname LIKE 'x%' AND relkind = 'r'")
      const loot = await admin.query('SELECT what FROM loot')
      // The planted name came back intact; the CHECK ran while rows were loaded, as the tenant only.
      expect(names.rows.map((r: { relname: string }) => r.relname)).toEqual([planted])
      expect(loot.rows.map((r: { what: string }) => r.what)).toContain(`check ran as ${role} in a session of ${role}`)
      const held = !rights.rolsuper && !rights.program && markerFiles().length === 0
      recordCase('PostgreSQL: restore of a planted \\! name and a CHECK with a tenant function', held)
      expect({ rights, files: markerFiles() }).toEqual({
        rights: { rolsuper: false, rolcreaterole: false, program: false },
        files: [],
      })
    } finally {
      await admin.end()
    }
  })
})

describe('MariaDB restores', () => {
  it('--binary-mode runs no \\! from a dump', async () => {
    const p = await createClient('rst-maria', 'mariadb')
    const marker = path.join(markers, 'maria-file-ran')
    const file = craftedDump('maria-crafted', marker, '-- Dump completed on 2026-11-30')
    // Live: the mysql client without --binary-mode runs it.
    const login = await tenantLogin(tenants.env, p.slug)
    const argv = ['--no-defaults', '-h', '127.0.0.1', '-P', String(tenants.env.mariadb.port), '-u', login.user]
    await runWithStdin(['mysql', ...argv, dbNameForSlug(p.slug)], file, { MYSQL_PWD: login.password })
    expect(fs.existsSync(marker)).toBe(true)
    fs.rmSync(marker)

    const db = dbAdminFor('mariadb', tenants.env.deps)
    await db.restore(dbNameForSlug(p.slug), file).catch(() => undefined)
    expect(recordCase('MariaDB: a dump carrying \\! runs nothing (--binary-mode)', !fs.existsSync(marker))).toBe(true)
  })
})
