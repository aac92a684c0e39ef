// The InnoDB files path as install.sh lays a server out: MariaDB runs as `mysql` and makes its database directories
// open to its group (UMASK_DIR=0770, install.sh's drop-in), and the agent is an unprivileged user in that group.
// The agent's own code, run as such a user (runuser), is offered the capability, exports a database and imports it
// into a fresh one whose files end MariaDB's group's, read-write, with no .cfg left; a user outside the group is not
// offered it (its moves carry SQL).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readableSource } from '../support/installed-agent.ts'
import { startMariadb, type PrivateMariadb } from '../support/mariadb.ts'

const USER = 'alfa-files-test'
const COPY = '/opt/alfa-tablespaces-source'
let m: PrivateMariadb
let source: { dir: string; copied: boolean }
let work: string
let admin: mysql.Connection

beforeAll(async () => {
  if (!ids(USER)) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER])
  execFileSync('usermod', ['-a', '-G', 'mysql', USER])
  m = await startMariadb({ asMysql: true, env: { UMASK_DIR: '0770' } })
  source = await readableSource(COPY, ['test'])
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alfa-files-test-'))
  execFileSync('chown', [USER, work])
  admin = await mysql.createConnection({ socketPath: m.socket, user: 'root', multipleStatements: true })
}, 300_000)
afterAll(async () => {
  await admin?.end()
  await m?.stop()
  if (work) fs.rmSync(work, { recursive: true, force: true })
  if (source?.copied) fs.rmSync(COPY, { recursive: true, force: true })
})

/** `id -u user`, or undefined when there is no such user. */
function ids(user: string): number | undefined {
  try {
    return Number(execFileSync('id', ['-u', user]).toString().trim())
  } catch {
    return undefined
  }
}

/** Runs test/support/tablespaces-as-user.ts as `user`; its JSON line. */
function asUser(user: string, vars: Record<string, string>): Record<string, unknown> {
  const url = `mysql://${m.adminUser}:${encodeURIComponent(m.adminPassword)}@127.0.0.1:${m.port}`
  const script = path.join(source.dir, 'test/support/tablespaces-as-user.ts')
  const out = execFileSync('runuser', ['-u', user, '--', process.execPath, '--import', 'tsx', script], {
    cwd: source.dir,
    env: { PATH: process.env.PATH, HOME: work, ADMIN_URL: url, ...vars },
    timeout: 120_000,
  })
  return JSON.parse(out.toString().trim().split('\n').at(-1)!) as Record<string, unknown>
}

const checksums = async (db: string) => {
  const [rows] = (await admin.query(`CHECKSUM TABLE ${db}.parent, ${db}.child`)) as unknown as [{ Checksum: unknown }[]]
  return rows.map((r) => String(r.Checksum))
}

describe("InnoDB files as install.sh's agent reaches them (a member of MariaDB's group)", () => {
  it('is offered to a member of the group, and not to a user outside it', () => {
    const member = asUser(USER, { ACTION: 'probe' })
    expect(member.uid).toBe(ids(USER))
    expect(member.capabilities).toEqual(expect.arrayContaining([expect.stringMatching(/^transfer\.innodb\.\d/)]))
    const outsider = asUser('nobody', { ACTION: 'probe' })
    expect(outsider.capabilities).toEqual(expect.arrayContaining(['transfer.zstd']))
    expect((outsider.capabilities as string[]).some((c) => c.startsWith('transfer.innodb.'))).toBe(false)
  })

  it("exports and imports as that user: the rows are the source's, the files MariaDB's group's, no .cfg left", async () => {
    await admin.query(`CREATE DATABASE alfa_grp; USE alfa_grp;
      CREATE TABLE alfa_grp.parent (id INT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(200));
      CREATE TABLE alfa_grp.child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT, FOREIGN KEY (parent_id) REFERENCES alfa_grp.parent(id));
      INSERT INTO alfa_grp.parent (label) SELECT CONCAT('p', seq) FROM seq_1_to_500;
      INSERT INTO alfa_grp.child (parent_id) SELECT 1 + seq % 500 FROM seq_1_to_2000;
      CREATE DATABASE alfa_grp__restore_1`)
    const file = path.join(work, 'grp.ibd.tar.zst')
    const exported = asUser(USER, { ACTION: 'export', DB: 'alfa_grp', FILE: file })
    expect(exported.tables).toEqual(expect.arrayContaining(['parent', 'child']))
    const imported = asUser(USER, { ACTION: 'import', SCRATCH: 'alfa_grp__restore_1', FILE: file })
    expect(imported.uid).toBe(ids(USER))

    expect(await checksums('alfa_grp__restore_1')).toEqual(await checksums('alfa_grp'))
    const [[n]] = (await admin.query('SELECT COUNT(*) AS n FROM alfa_grp__restore_1.child')) as unknown as [
      { n: number }[],
    ]
    expect(Number(n!.n)).toBe(2000)
    const dir = path.join(m.dataDir, 'alfa_grp__restore_1')
    const mysqlGid = Number(execFileSync('id', ['-g', 'mysql']).toString().trim())
    const placed = fs.readdirSync(dir).filter((f) => /\.(ibd|cfg)$/.test(f))
    expect(placed.sort()).toEqual(['child.ibd', 'parent.ibd'])
    for (const f of placed) {
      const st = fs.statSync(path.join(dir, f))
      expect({ f, uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({
        f,
        uid: ids(USER),
        gid: mysqlGid,
        mode: 0o660,
      })
    }
    // MariaDB keeps using them: a write, and the database dropped without a trace.
    await admin.query('INSERT INTO alfa_grp__restore_1.parent (label) VALUES ("after")')
    await admin.query('DROP DATABASE alfa_grp__restore_1')
    expect(fs.existsSync(dir)).toBe(false)
  })
})
