// Run by test/agent-client/tablespaces-group.test.ts as an unprivileged user (runuser), as install.sh's agent runs:
// the agent's InnoDB files code against a MariaDB that runs as `mysql`. Arguments in the environment; prints one JSON
// line. ACTION=probe: the capabilities the agent would announce. ACTION=export: DB's tables into FILE. ACTION=import:
// FILE into the (made) database SCRATCH, its schema loaded by the admin.
import fs from 'node:fs'
import mysql from 'mysql2/promise'
import { mariadbTablespaces } from '../../packages/agent/src/drivers/database-mariadb-tablespaces.ts'
import { peekMark } from '../../packages/agent/src/drivers/tablespaces-mark.ts'
import { exec } from '../../packages/agent/src/exec.ts'
import { execPipeline } from '../../packages/agent/src/exec-pipeline.ts'
import { transferCapabilities } from '../../packages/agent/src/transfer/capabilities.ts'
import { exportWhole } from './tablespaces-export.ts'

const env = (name: string) => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}
const url = new URL(env('ADMIN_URL'))
const admin = { host: url.hostname, port: Number(url.port), user: url.username, password: url.password }
const args = (db: string, file?: string) => {
  const argv = ['mysqldump', '--no-defaults', '--host', admin.host, '--port', String(admin.port), '--user']
  argv.push(admin.user, '--single-transaction', '--routines', '--triggers', '--no-data')
  if (file) argv.push('--result-file', file)
  return [...argv, db]
}
const withAdmin = async <T>(_what: string, work: (c: mysql.Connection) => Promise<T>): Promise<T> => {
  const c = await mysql.createConnection(admin)
  try {
    return await work(c)
  } finally {
    await c.end()
  }
}
const files = mariadbTablespaces({
  exec,
  pipeline: execPipeline,
  withAdmin,
  openAdmin: () => mysql.createConnection(admin),
  schemaDump: (db, file) => ({ argv: args(db, file), env: { ...process.env, MYSQL_PWD: admin.password } }),
  redact: [admin.password],
})

const action = env('ACTION')
const uid = process.getuid?.()
if (action === 'probe') {
  const config = { transferCompression: true, transferTablespaces: true, dbMariadbUrl: env('ADMIN_URL') }
  console.log(JSON.stringify({ uid, capabilities: await transferCapabilities(config, exec) }))
} else if (action === 'export') {
  const can = await files.exportable(env('DB'))
  if ('why' in can) throw new Error(can.why)
  await exportWhole(files, env('DB'), can.tables, fs.createWriteStream(env('FILE'), { flags: 'wx' }))
  console.log(JSON.stringify({ uid, tables: can.tables }))
} else if (action === 'import') {
  const { mark, rest } = await peekMark(fs.createReadStream(env('FILE')))
  if (!mark) throw new Error('not a tablespaces archive')
  const load = (file: string) =>
    exec(
      [
        'mysql',
        '--no-defaults',
        '--host',
        admin.host,
        '--port',
        String(admin.port),
        '--user',
        admin.user,
        '--binary-mode',
        '--database',
        env('SCRATCH'),
      ],
      { stdinFile: file, env: { ...process.env, MYSQL_PWD: admin.password } },
    ).then(() => undefined)
  await files.importInto(env('SCRATCH'), rest, load)
  console.log(JSON.stringify({ uid, imported: env('SCRATCH') }))
} else throw new Error(`no action ${action}`)
