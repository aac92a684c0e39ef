import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { freePort } from './ports.ts'
import { makeTempDir, runCommand, spawnService, waitUntil } from './process.ts'

/** A private MariaDB server with an admin account that containers can use (through the docker bridge gateway). */
export interface PrivateMariadb {
  host: string
  port: number
  socket: string
  dataDir: string
  /** Holds ALL PRIVILEGES WITH GRANT OPTION from '%': what the agent uses to create client databases and users. */
  adminUser: string
  adminPassword: string
  logTail(): Promise<string>
  stop(): Promise<void>
}

const ADMIN_USER = 'alfa_admin'
// Throwaway data: trade crash safety for speed (fewer fsyncs in install and in every DDL the tests run).
const NO_DURABILITY = ['--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0', '--innodb-buffer-pool-size=64M']

/**
 * `asMysql`: runs as the `mysql` system user, as Debian's MariaDB does (its files owned by it), with `env` (e.g.
 * UMASK_DIR, as install.sh's drop-in sets it); by default as root, as every other test runs it.
 */
export async function startMariadb(
  o: { asMysql?: boolean; env?: Record<string, string> } = {},
): Promise<PrivateMariadb> {
  const top = await makeTempDir('mariadb')
  // As mysql: its own directory inside ours (mkdtemp's is 0700 root), the way to it searchable.
  const dir = o.asMysql ? path.join(top, 'm') : top
  if (o.asMysql) {
    await fs.chmod(top, 0o755)
    await fs.mkdir(dir, { mode: 0o750 })
    await runCommand('chown', ['mysql:mysql', dir])
  }
  const user = o.asMysql ? 'mysql' : 'root'
  const dataDir = path.join(dir, 'data')
  const socket = path.join(dir, 'mariadb.sock')
  const errorLog = path.join(dir, 'error.log')
  // --no-defaults everywhere: /etc/mysql/my.cnf names the system instance's socket, pid and datadir.
  // As root, --user=root is required (mariadbd refuses to run as root otherwise); the normal root authentication
  // gives root@localhost an empty password, usable only over our socket, to create the admin account.
  // A private --tmpdir: installs running side by side in one /tmp collide on their temporary tables (CI saw
  // "Unknown table 'mysql.tmp_user_sys'"; 4 of 12 parallel installs failed without it, 0 of 36 with it).
  await runCommand('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--tmpdir=${dir}`,
    `--user=${user}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...NO_DURABILITY,
  ])
  // As Debian's /var/lib/mysql: the data directory searchable (its databases' own modes say who gets further).
  if (o.asMysql) await fs.chmod(dataDir, 0o755)
  // Bind beyond loopback: containers reach the server through the bridge gateway (172.17.0.1).
  const port = await freePort('0.0.0.0')
  const service = spawnService(
    'mariadbd',
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=0.0.0.0',
      `--user=${user}`,
      `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
      `--log-error=${errorLog}`,
      `--tmpdir=${dir}`,
      // Connections from containers come from 172.17.x.x: no reverse DNS lookups for them.
      '--skip-name-resolve',
      ...NO_DURABILITY,
    ],
    {
      logPath: path.join(dir, 'stdout.log'),
      extraLogs: [errorLog],
      ...(o.env ? { env: { ...process.env, ...o.env } } : {}),
    },
  )
  const stop = async () => {
    await service.stop({ timeoutMs: 30_000 })
    await fs.rm(top, { recursive: true, force: true })
  }

  try {
    const adminPassword = randomBytes(18).toString('base64url')
    await waitUntil(
      async () => {
        service.assertRunning()
        return canConnect(socket)
      },
      { timeoutMs: 30_000, what: 'mariadbd to accept connections', describe: service.logTail },
    )
    await createAdmin(socket, adminPassword)
    return {
      host: '127.0.0.1',
      port,
      socket,
      dataDir,
      adminUser: ADMIN_USER,
      adminPassword,
      logTail: service.logTail,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function canConnect(socketPath: string): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ socketPath, user: 'root' })
    await connection.end()
    return true
  } catch {
    // Not accepting yet (socket missing or server still starting): the caller polls again.
    return false
  }
}

async function createAdmin(socketPath: string, password: string): Promise<void> {
  const connection = await mysql.createConnection({ socketPath, user: 'root' })
  try {
    await connection.query('CREATE USER ?@? IDENTIFIED BY ?', [ADMIN_USER, '%', password])
    await connection.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN_USER, '%'])
  } finally {
    await connection.end()
  }
}
