// bench/move: a client's move between two servers on this machine against the raw pipe an operator would type,
// `mysqldump | mysql` between the same two MariaDB instances. Fills the client's database with --mb MB (100),
// times the raw pipe into a scratch database on B, then moves the client with move_to and reads its steps, then
// times the raw pipe back from B into A. The move's dump step streams mysqldump through the relay into a fresh
// database on B while it is made (compressed with zstd when both agents can, hashed, the source's copy kept, rows
// counted); its restore step checks (sha256, rows per table) and swaps it in. Throughput = the database's dump bytes
// / wall time from the dump's start to the verified restore's end (the raw pipe's work plus our checks; the files
// step runs before) against the same bytes / the faster raw pipe's time (target ≥ 0.8); also the downtime (freeze →
// serving on the target; target < 30 s). --fill says what the rows hold, and so how well the dump compresses:
// `padded` (a number padded with 'x', as measured before 2026-12-01 18:00: ~350 times smaller), `text` (words of a
// 2,000-word vocabulary with numbers and dates: ~3 times) or `random` (base64 of random bytes: ~1.3 times, the worst
// case). Prints the load average beside the figures, the operation's log over that stretch, a table and one
// BENCH_JSON line.
//   npx -y pnpm@12.4.2 run bench:move [-- --mb 100 --rounds 1 --fill padded|text|random --plain --sql --pin]
// (--plain: the agents announce no compression, the dump crosses as before zstd; --sql: compressed SQL, not the
// tables' InnoDB files, as before 2026-12-02 17:30; both for A/B runs.)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import mysql from 'mysql2/promise'
import { median as medianOf } from './lib/stats.ts'
import { cleanup, installExitHandlers } from './lib/cleanup.ts'
import { startMoveRig } from './lib/move-rig.ts'
import { benchArgs } from './lib/cli-args.ts'
import { pidOnPort, pidsWithEnv, pin, pinned } from './lib/pin.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: opt } = parseArgs({
  args: benchArgs(),
  options: {
    mb: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '1' },
    pin: { type: 'boolean', default: false },
    fill: { type: 'string', default: 'padded' },
    plain: { type: 'boolean', default: false },
    sql: { type: 'boolean', default: false },
  },
})
if (!['padded', 'text', 'random'].includes(opt.fill)) throw new Error('--fill is padded, text or random')
const MB = Math.max(1, Number(opt.mb))
const ROUNDS = Math.max(1, Number(opt.rounds))
const SLUG = 'bench-mv'
const DB = 'alfa_bench_mv'
const ROW = 1000

/** A MariaDB instance, and with --pin the CPU its server's processes run on. */
type Db = { port: number; adminUser: string; adminPassword: string; cpu?: number }
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
  const [dumpCmd, ...dumpArgv] = pinned(from.cpu, ['mysqldump', ...dumpArgs(from)])
  const [loadCmd, ...loadArgv] = pinned(to.cpu, ['mysql', ...auth(to), scratch])
  const dump = spawn(dumpCmd!, dumpArgv, { env: envOf(from), stdio: ['ignore', 'pipe', 'inherit'] })
  const load = spawn(loadCmd!, loadArgv, { env: envOf(to), stdio: [dump.stdout, 'ignore', 'inherit'] })
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

/** A seeded generator (mulberry32), so that every run fills the same rows. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rand = seeded(20261201)
const VOCABULARY = Array.from({ length: 2000 }, () =>
  Array.from({ length: 2 + Math.floor(rand() * 9) }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join(''),
)

/** Row `i`'s text, ROW characters, per --fill. */
function rowText(i: number): string {
  if (opt.fill === 'padded') return `${i}:`.padEnd(ROW, 'x')
  if (opt.fill === 'random') return randomBytes(ROW).toString('base64').slice(0, ROW)
  const parts = [`${i}`, `2026-${1 + (i % 12)}-${1 + (i % 28)}`, (rand() * 1000).toFixed(3)]
  while (parts.join(' ').length < ROW) parts.push(VOCABULARY[Math.floor(rand() * VOCABULARY.length)]!)
  return parts.join(' ').slice(0, ROW)
}

const stepMs = (steps: Step[], name: string) => at(steps, name, 'endedAt') - at(steps, name, 'startedAt')

async function main() {
  installExitHandlers(1_800_000)
  // --plain: the agents announce no compression, so the dump crosses as it did before zstd; --sql: no InnoDB files
  // capability, so it crosses as compressed SQL (for A/B runs).
  const rig = await startMoveRig(ROOT, SLUG, {
    ...(opt.plain ? { ALFA_AGENT_TRANSFER_COMPRESSION: '0' } : {}),
    ...(opt.sql ? { ALFA_AGENT_TRANSFER_TABLESPACES: '0' } : {}),
  })
  const src = await connect(rig.a.services.mariadb, DB)
  await src.query(`CREATE TABLE payload (id INT AUTO_INCREMENT PRIMARY KEY, data VARCHAR(${ROW}) NOT NULL)`)
  const rows = Math.round((MB * 1024 * 1024) / ROW)
  for (let done = 0; done < rows; done += 2000) {
    const n = Math.min(2000, rows - done)
    const values = Array.from({ length: n }, (_, i) => [rowText(done + i)])
    await src.query('INSERT INTO payload (data) VALUES ?', [values])
  }
  await src.end()

  const rawBytes = await rawDumpBytes(rig.a.services.mariadb)
  const side = {
    a: { id: rig.a.id, db: { ...rig.a.services.mariadb, ...(opt.pin ? { cpu: 0 } : {}) } },
    b: { id: rig.b.id, db: { ...rig.b.mariadb, ...(opt.pin ? { cpu: 1 } : {}) } },
  }
  if (opt.pin) {
    // Each "server" gets a core of its own, as two machines would: its MariaDB, its agent and what the agent starts
    // (mysqldump, mysql) on CPU 0 (A) or 1 (B). The master and the machine's other services float.
    for (const [name, s] of [
      ['bench-a', side.a],
      ['bench-b', side.b],
    ] as const) {
      const agents = await pidsWithEnv('ALFA_AGENT_STATE_DIR', (v) => v.endsWith(`/${name}/state`))
      if (agents.length !== 1) throw new Error(`expected one agent of ${name}, found ${agents.length}`)
      for (const pid of [...agents, await pidOnPort(s.db.port)]) await pin(pid, s.db.cpu!)
    }
    console.log('pinned: server A (MariaDB, agent and its children) on CPU 0, server B on CPU 1; the master floats')
  }
  const rounds: Record<string, number | string>[] = []
  let from = side.a
  for (let round = 1; round <= ROUNDS; round++) {
    const to = from === side.a ? side.b : side.a
    rounds.push(await moveRound(rig, from.db, to, rawBytes, round === ROUNDS))
    from = to
  }
  const ratios = rounds.map((r) => Number(r.ratio)).sort((x, y) => x - y)
  // The lower of the two middle ratios for an even count (the stricter reading).
  const median = medianOf(ratios, 'lower')
  if (rounds.length > 1) {
    console.log(
      '| round | direction | raw ms (before / after) | move ms | ratio | downtime ms | load |\n|---|---|---|---|---|---|---|',
    )
    rounds.forEach((r, i) =>
      console.log(
        `| ${i + 1} | ${r.direction} | ${r.rawPipeBeforeMs} / ${r.rawPipeAfterMs} | ${r.dumpStartToRestoreEndMs} | ` +
          `${r.ratio} | ${r.downtimeMs} | ${r.loadBeforeMove} |`,
      ),
    )
  }
  console.log(`ratios: ${ratios.join(', ')}; median ${median} (target ≥ 0.8)`)
  console.log(
    `BENCH_JSON ${JSON.stringify({ bench: 'move', mb: MB, fill: opt.fill, plain: opt.plain, sql: opt.sql, pinned: opt.pin, rounds: rounds.length, medianRatio: median, ratios, runs: rounds })}`,
  )
}

/** The raw pipe into a scratch database on `to`, made and dropped around it. */
async function rawInto(from: Db, to: Db) {
  const dst = await connect(to)
  await dst.query('CREATE DATABASE raw_copy')
  const timed = await rawPipe(from, to, 'raw_copy')
  await dst.query('DROP DATABASE raw_copy')
  await dst.end()
  return timed
}

/**
 * One round: the raw pipe from the client's server to `to`, the move there, and the same raw pipe again after it
 * (the faster of the two is the one compared: the stricter comparison on a shared machine).
 */
async function moveRound(
  rig: Awaited<ReturnType<typeof startMoveRig>>,
  fromDb: Db,
  to: { id: string; db: Db },
  rawBytes: number,
  last: boolean,
) {
  const loadBeforeRaw = load()
  const rawBefore = await rawInto(fromDb, to.db)
  const loadBeforeMove = load()
  const started = Date.now()
  const res = await rig.api('POST', `/clients/${rig.client.id}/move_to/${to.id}`)
  if (res.status !== 202) throw new Error(`move_to: ${res.status} ${JSON.stringify(res.json)}`)
  const op = await rig.waitOperation(res.json.data.id)
  const totalMs = Date.now() - started
  if (op.attributes.status !== 'succeeded')
    throw new Error(`move ${op.attributes.status}: ${JSON.stringify(op.attributes.error)}`)
  const loadBeforeRawAfter = load()
  // The client's database is on `to` now; the same direction again: from the old server's copy of the data is
  // gone, so the raw pipe after runs from `to` back (the same two instances, the same bytes).
  const rawAfter = await rawInto(to.db, fromDb)
  const raw = rawAfter.ms < rawBefore.ms ? rawAfter : rawBefore
  const steps: Step[] = op.attributes.steps
  const stepsMs = stepMs(steps, 'dump') + stepMs(steps, 'restore')
  // What crossed the relay: the plain dump, or (dumpCompression 'zstd') the compressed one.
  const dumpBytes: number = op.attributes.result.dumpBytes
  const compression: string = op.attributes.result.dumpCompression ?? 'none'
  const format: string = op.attributes.result.dumpFormat ?? 'sql'
  // The measure: from the dump's start to the verified restore's end (the raw pipe's work plus our checks). Both
  // rates are of the same database's plain dump (the raw pipe's, counted beforehand; the move's own differs by its
  // completion line's timestamp), so the ratio is the raw pipe's time over the move's, compressed or not.
  const wallMs = at(steps, 'restore', 'endedAt') - at(steps, 'dump', 'startedAt')
  const rawRate = rawBytes / 1024 / 1024 / (raw.ms / 1000)
  const moveRate = rawBytes / 1024 / 1024 / (wallMs / 1000)
  const figures = {
    direction: `${fromDb.port} → ${to.db.port}`,
    rawPipeBeforeMs: rawBefore.ms,
    rawPipeAfterMs: rawAfter.ms,
    rawPipeMs: raw.ms,
    rawDumpBytes: rawBytes,
    rawPipeMBps: Number(rawRate.toFixed(1)),
    dumpBytes,
    compression,
    format,
    dumpMs: stepMs(steps, 'dump'),
    restoreMs: stepMs(steps, 'restore'),
    moveMBps: Number(moveRate.toFixed(1)),
    dumpStartToRestoreEndMs: wallMs,
    ratio: Number((moveRate / rawRate).toFixed(2)),
    /** The two steps' own times only (without the master's bookkeeping between them). */
    ratioSteps: Number((raw.ms / stepsMs).toFixed(2)),
    downtimeMs: op.attributes.result.downtimeMs,
    totalMoveMs: totalMs,
    loadBeforeRaw,
    loadBeforeMove,
    loadBeforeRawAfter,
    loadAfter: load(),
  }
  if (last) {
    // Where the time goes: the operation's log from the dump's start to the restore's end, in ms from that start.
    const from = at(steps, 'dump', 'startedAt')
    const logged = (await rig.api('GET', `/operations/${op.id}`)).json.data.attributes.log ?? []
    for (const l of logged as { ts: string; message: string }[]) {
      const t = Date.parse(l.ts) - from
      if (t >= 0 && t <= wallMs + 50) console.log(`+${String(t).padStart(5)} ms  ${l.message.slice(0, 150)}`)
    }
  }
  console.log('| measure | value |\n|---|---|')
  for (const [k, v] of Object.entries(figures)) console.log(`| ${k} | ${v} |`)
  console.log(`targets: ratio ≥ 0.8 (${figures.ratio}), downtime < 30 s (${(figures.downtimeMs / 1000).toFixed(1)} s)`)
  return figures
}

main()
  .catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => cleanup())
