// bench/move: a client's move between two servers on this machine against the raw pipe an operator would type,
// `mysqldump | mysql` between the same two MariaDB instances. Fills the client's database with --mb MB (100),
// times the raw pipe into a scratch database on B, then moves the client with move_to and reads its steps, then
// times the raw pipe back from B into A. The move's dump step streams mysqldump through the relay into a fresh
// database on B while it is made (hashed, the source's copy kept, rows counted); its restore step checks (sha256,
// rows per table) and swaps it in. Throughput = dump bytes / wall time from the dump's start to the verified
// restore's end (the raw pipe's work plus our checks; the files step runs before) against dump bytes / the faster
// raw pipe's time (target ≥ 0.8); also the downtime (freeze → serving on the target; target < 30 s). Prints the
// load average beside the figures, the operation's log over that stretch, a table and one BENCH_JSON line.
//   npx -y pnpm@12.4.2 run bench:move [-- --mb 100]
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import mysql from 'mysql2/promise'
import { cleanup, installExitHandlers } from './lib/cleanup.ts'
import { startMoveRig } from './lib/move-rig.ts'
import { benchArgs } from './lib/cli-args.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: opt } = parseArgs({
  args: benchArgs(),
  options: { mb: { type: 'string', default: '100' } },
})
const MB = Math.max(1, Number(opt.mb))
const SLUG = 'bench-mv'
const DB = 'alfa_bench_mv'
const ROW = 1000

type Db = { port: number; adminUser: string; adminPassword: string }
const connect = (db: Db, database?: string) =>
  mysql.createConnection({
    host: '127.0.0.1',
    port: db.port,
    user: db.adminUser,
    password: db.adminPassword,
    ...(database ? { database } : {}),
  })

const auth = (db: Db) => ['-h', '127.0.0.1', '-P', String(db.port), '-u', db.adminUser]
const dumpArgs = (db: Db) => [...auth(db), '--single-transaction', '--quick', DB]
const envOf = (db: Db) => ({ ...process.env, MYSQL_PWD: db.adminPassword })
const exited = (p: ReturnType<typeof spawn>, what: string) =>
  new Promise<void>((resolve, reject) =>
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}`)))),
  )

/**
 * `mysqldump --single-transaction <db> | mysql <scratch>` between the two instances, as a shell runs it: mysqldump's
 * stdout is handed to mysql as its stdin, one kernel pipe, and this process never touches the bytes. (Until
 * 2026-12-01 12:00 the bench piped them through its own event loop, ~26,000 reads of 4 KiB per 100 MB and 0.5–0.7
 * CPU-seconds on this machine: a slower baseline than the operator's pipe, which flattered the ratio.)
 */
async function rawPipe(from: Db, to: Db, scratch: string): Promise<{ ms: number }> {
  const started = Date.now()
  const dump = spawn('mysqldump', dumpArgs(from), { env: envOf(from), stdio: ['ignore', 'pipe', 'inherit'] })
  const load = spawn('mysql', [...auth(to), scratch], { env: envOf(to), stdio: [dump.stdout, 'ignore', 'inherit'] })
  // The pipe's read end now belongs to mysql; this process's copy is closed so that only mysql reads it.
  dump.stdout.destroy()
  await Promise.all([exited(dump, 'mysqldump'), exited(load, 'mysql')])
  return { ms: Date.now() - started }
}

/** The size of the raw pipe's dump (counted once, untimed: the timed pipe does not pass through this process). */
async function rawDumpBytes(from: Db): Promise<number> {
  const dump = spawn('mysqldump', dumpArgs(from), { env: envOf(from), stdio: ['ignore', 'pipe', 'inherit'] })
  let bytes = 0
  dump.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length))
  await exited(dump, 'mysqldump')
  return bytes
}

type Step = { name: string; startedAt?: string; endedAt?: string }
const at = (steps: Step[], name: string, end: 'startedAt' | 'endedAt') => {
  const t = steps.find((x) => x.name === name)?.[end]
  return t ? Date.parse(t) : NaN
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

const stepMs = (steps: Step[], name: string) => at(steps, name, 'endedAt') - at(steps, name, 'startedAt')

async function main() {
  installExitHandlers(1_800_000)
  const rig = await startMoveRig(ROOT, SLUG)
  const src = await connect(rig.a.services.mariadb, DB)
  await src.query(`CREATE TABLE payload (id INT AUTO_INCREMENT PRIMARY KEY, data VARCHAR(${ROW}) NOT NULL)`)
  const rows = Math.round((MB * 1024 * 1024) / ROW)
  for (let done = 0; done < rows; done += 2000) {
    const n = Math.min(2000, rows - done)
    const values = Array.from({ length: n }, (_, i) => [`${done + i}:`.padEnd(ROW, 'x')])
    await src.query('INSERT INTO payload (data) VALUES ?', [values])
  }
  await src.end()

  /** The raw pipe into a scratch database on `to`, made and dropped around it. */
  async function rawInto(from: Db, to: Db) {
    const dst = await connect(to)
    await dst.query('CREATE DATABASE raw_copy')
    const timed = await rawPipe(from, to, 'raw_copy')
    await dst.query('DROP DATABASE raw_copy')
    await dst.end()
    return timed
  }
  const rawBytes = await rawDumpBytes(rig.a.services.mariadb)
  const loadBeforeRaw = load()
  const rawBefore = await rawInto(rig.a.services.mariadb, rig.b.mariadb)

  const loadBeforeMove = load()
  const started = Date.now()
  const res = await rig.api('POST', `/clients/${rig.client.id}/move_to/${rig.b.id}`)
  if (res.status !== 202) throw new Error(`move_to: ${res.status} ${JSON.stringify(res.json)}`)
  const op = await rig.waitOperation(res.json.data.id)
  const totalMs = Date.now() - started
  if (op.attributes.status !== 'succeeded')
    throw new Error(`move ${op.attributes.status}: ${JSON.stringify(op.attributes.error)}`)
  // The machine is shared: a raw pipe again after the move, back from B (the moved database) into A, and the
  // faster of the two is the one compared (the stricter comparison).
  const loadBeforeRawAfter = load()
  const rawAfter = await rawInto(rig.b.mariadb, rig.a.services.mariadb)
  const raw = rawAfter.ms < rawBefore.ms ? rawAfter : rawBefore
  const steps: Step[] = op.attributes.steps
  const stepsMs = stepMs(steps, 'dump') + stepMs(steps, 'restore')
  const dumpBytes: number = op.attributes.result.dumpBytes
  // The measure: from the dump's start to the verified restore's end (the raw pipe's work plus our checks).
  const wallMs = at(steps, 'restore', 'endedAt') - at(steps, 'dump', 'startedAt')
  const rawRate = rawBytes / 1024 / 1024 / (raw.ms / 1000)
  const moveRate = dumpBytes / 1024 / 1024 / (wallMs / 1000)
  const figures = {
    mb: MB,
    rows,
    rawPipeBeforeMs: rawBefore.ms,
    rawPipeAfterMs: rawAfter.ms,
    rawPipeMs: raw.ms,
    rawDumpBytes: rawBytes,
    rawPipeMBps: Number(rawRate.toFixed(1)),
    dumpBytes,
    dumpMs: stepMs(steps, 'dump'),
    restoreMs: stepMs(steps, 'restore'),
    moveMBps: Number(moveRate.toFixed(1)),
    dumpStartToRestoreEndMs: wallMs,
    ratio: Number((moveRate / rawRate).toFixed(2)),
    /** The two steps' own times only (without the master's bookkeeping between them). */
    ratioSteps: Number((dumpBytes / stepsMs / (rawBytes / raw.ms)).toFixed(2)),
    downtimeMs: op.attributes.result.downtimeMs,
    totalMoveMs: totalMs,
    loadBeforeRaw,
    loadBeforeMove,
    loadBeforeRawAfter,
    loadAfter: load(),
  }
  // Where the time goes: the operation's log from the dump's start to the restore's end, in ms from that start.
  const from = at(steps, 'dump', 'startedAt')
  const logged = (await rig.api('GET', `/operations/${op.id}`)).json.data.attributes.log ?? []
  for (const l of logged as { ts: string; message: string }[]) {
    const t = Date.parse(l.ts) - from
    if (t >= 0 && t <= wallMs + 50) console.log(`+${String(t).padStart(5)} ms  ${l.message.slice(0, 150)}`)
  }
  console.log('| measure | value |\n|---|---|')
  for (const [k, v] of Object.entries(figures)) console.log(`| ${k} | ${v} |`)
  console.log(`targets: ratio ≥ 0.8 (${figures.ratio}), downtime < 30 s (${(figures.downtimeMs / 1000).toFixed(1)} s)`)
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'move', ...figures })}`)
}

main()
  .catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => cleanup())
