// A private PostgreSQL for integration tests: its own data dir, port and socket dir, started with the distribution's
// binaries (scripts/test installs them). PostgreSQL refuses to run as root, so as root it runs as `postgres`.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { freePort } from './ports.ts'
import { makeTempDir, tailFile } from './process.ts'

/** A running test PostgreSQL; `url` connects as the superuser to the `postgres` database. */
export interface TestPostgres {
  url: string
  port: number
  stop(): Promise<void>
}

const PG_ROOT = '/usr/lib/postgresql'

export interface StartPostgresOptions {
  dir?: string
  port?: number
  /**
   * Also listen on every address and accept password (scram-sha-256) logins from private networks, the docker
   * bridge among them: containers reach the server through bridgeGateway(). Loopback stays trust-only.
   */
  containerAccess?: boolean
}

// Docker's default address pools lie in these private ranges; only password logins are accepted from them.
const CONTAINER_NETWORKS = ['172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/8']

/** Starts PostgreSQL with trust auth on 127.0.0.1; the data dir is removed on stop() unless the caller gave it. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findBinDir()
  const dir = options.dir ?? (await makeTempDir('postgres'))
  await fs.mkdir(dir, { recursive: true })
  const dataDir = path.join(dir, 'data')
  const logFile = path.join(dir, 'postgres.log')
  const port = options.port ?? (await freePort(options.containerAccess ? '0.0.0.0' : '127.0.0.1'))
  const asPostgres = await postgresRunner(dir)

  await asPostgres(path.join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
  ])
  // Settings go in the config file rather than `pg_ctl -o`, which pg_ctl would hand to a shell.
  await fs.appendFile(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      options.containerAccess ? "listen_addresses = '*'" : "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      // Durability buys nothing in a throw-away test instance and costs seconds on every migration.
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      '',
    ].join('\n'),
  )
  if (options.containerAccess) {
    const lines = CONTAINER_NETWORKS.map((cidr) => `host all all ${cidr} scram-sha-256`)
    await fs.appendFile(path.join(dataDir, 'pg_hba.conf'), `\n${lines.join('\n')}\n`)
  }
  const pgCtl = path.join(bin, 'pg_ctl')
  try {
    await asPostgres(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60'])
  } catch (error) {
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${await tailFile(logFile)}`, {
      cause: error,
    })
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await asPostgres(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'])
      if (options.dir === undefined) await fs.rm(dir, { recursive: true, force: true })
    },
  }
}

/** Creates an empty database on the server behind `adminUrl` and returns a URL for it. */
export async function createTestDatabase(adminUrl: string): Promise<string> {
  const name = `alfa_test_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
  } finally {
    await client.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

function findBinDir(): string {
  const override = process.env.ALFA_TEST_PG_BIN
  if (override) return override
  // Take the newest installed major, as Debian's wrappers would.
  const majors = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)) : []
  majors.sort((a, b) => Number(b) - Number(a))
  const found = majors.map((v) => path.join(PG_ROOT, v, 'bin')).find((dir) => existsSync(path.join(dir, 'initdb')))
  if (!found) {
    throw new Error(
      `PostgreSQL server binaries not found under ${PG_ROOT}/<version>/bin (or ALFA_TEST_PG_BIN): ` +
        'run ./scripts/test, which installs them, or `apt-get install -y postgresql`',
    )
  }
  return found
}

// Returns how to run a PostgreSQL binary: directly, or as the `postgres` user (owning `dir`) when we are root.
async function postgresRunner(dir: string): Promise<(command: string, args: string[]) => Promise<void>> {
  if (process.getuid?.() !== 0) return async (command, args) => void (await run(command, args))
  const uid = Number(await run('id', ['-u', 'postgres']))
  const gid = Number(await run('id', ['-g', 'postgres']))
  await fs.chown(dir, uid, gid)
  return async (command, args) => void (await run('runuser', ['-u', 'postgres', '--', command, ...args]))
}

// execFile without stdin: these tools read none, and an unread stdin pipe only risks EPIPE when they exit early.
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 120_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout.trim())
      const output = `${stderr}\n${stdout}`.trim().split('\n').slice(-20).join('\n')
      reject(new Error(`${[command, ...args].join(' ')} failed (${error.code ?? error.signal}):\n${output}`))
    }).stdin?.end()
  })
}
