// One measured run against one target (the master or the raw baseline): the same agents, frames and requests, so
// the two sets of figures can be divided by each other.
import { setTimeout as sleep } from 'node:timers/promises'
import { perRequest, transactions, type TransactionsPerRequest } from './db-transactions.ts'
import { pickAgent, runCommandRound, type CommandRound, type CommandWindow } from './command-round.ts'
import { runLoad, type LoadResult } from './http-load.ts'
import { openFiles, rssMiB } from './proc.ts'
import { cpuBetween, cpuSnapshot } from './window-cpu.ts'
import type { ConnectResult, SimPool } from './sim-pool.ts'
import type { SimIdentity } from './sim-protocol.ts'

export interface Target {
  name: string
  httpUrl: string
  wsUrl: string
  pid: number
  /** A read route (GET /servers?page[size]=20 or the bare GET /x). */
  listPath: string
  /** A route that goes to agent `agents[i]` and back. */
  commandPath: (agent: SimIdentity) => string
  headers: Record<string, string>
  /** Frames the target has demonstrably taken in so far (the master: as stored in the database). */
  ingested: () => Promise<number>
  /** How long `ingested` may lag (the master copies latest samples to the database once a minute). */
  ingestLagMs: number
  /** PostgreSQL transactions committed so far (pg_stat_database), to count database round trips per request. */
  dbTransactions?: () => Promise<{ all: number; writes: number }>
  /** PostgreSQL's postmaster, to count its CPU with the master's. */
  postgresPid?: number
}

export interface PhaseOptions {
  agents: SimIdentity[]
  localAddresses: string[]
  wave: number
  intervalMs: number
  durationS: number
  requests: number
  listConcurrency: number
  commandConcurrency: number
  /**
   * How many times the commands run `commandConcurrency` at a time; the median round is kept, for the master and the
   * baseline alike. A round lasts about a second (the baseline's under half of one), so one slow spell of this shared
   * machine can halve it: with one round, a slow baseline flattered the ratio (2026-12-02 04:05: 1,455/s instead of
   * 3,000–3,700 printed "MET"), and a slow master round sank it. Until 2026-12-04 the baseline kept its fastest of three
   * and the master ran once; the report still prints that strictest reading beside (report.ts).
   */
  commandRounds?: number
  burstFramesPerAgent: number
  log: (line: string) => void
}

export interface PhaseResult {
  connect: ConnectResult
  rssIdleMiB?: number
  rssAtNMiB?: number
  rssPeakMiB?: number
  openFilesAtN?: number
  steady: {
    seconds: number
    framesSent: number
    framesPerSec: number
    offeredPerSec: number
    targetCpuPct: number
    postgresCpuPct?: number
    simCpuPct: number
    machineBusyPct: number
    /** Busy CPU of processes that are not part of the bench (other work on a shared machine), % of one core. */
    foreignCpuPct: number
    loadAvg1: number
    cpuUsPerFrame: number
  }
  /** CPU over the commands run `commandConcurrency` at a time, "not ours" and the load average at its end. */
  commandWindow: CommandWindow
  ingestCheck: { sent: number; ingested: number; waitedMs: number }
  /** GET /servers one at a time: the latency a user's request sees while the agents stream. */
  listSerial: LoadResult
  /** GET /servers `listConcurrency` at a time: the same plus waiting behind the others (the saturation point). */
  list: LoadResult
  /** Commands one at a time: the round trip itself, what the target is about. */
  commandSerial: LoadResult
  /** Commands `commandConcurrency` at a time: the round trip plus waiting behind the others (the median round). */
  command: LoadResult
  /** Commands per second of each round of `command`, in the order they ran (one figure unless `commandRounds` > 1). */
  commandRoundsRps: number[]
  /**
   * Committed PostgreSQL transactions per request (each autocommit statement is one, a read too): `list`, `command`
   * (one at a time) and `commandConcurrent` count everything committed in their window, metrics flushes and agent
   * presence included; `background` is that other work's rate alone (per second, measured over the steady window,
   * agents streaming and no requests), and the `…Net` figures take it out: what the requests themselves cost.
   */
  dbTransactionsPerRequest?: TransactionsPerRequest
  burst: { frames: number; answered: number; seconds: number; framesPerSec: number; ingested: number; sent: number }
  agentErrors: { dropped: number; errorFrames: number; badFrames: number }
}

/** Polls `ingested` until it reaches `sent` or the lag allowance runs out; returns what it saw. */
async function awaitIngested(
  target: Target,
  sent: number,
): Promise<{ sent: number; ingested: number; waitedMs: number }> {
  const start = Date.now()
  let ingested = await target.ingested()
  while (ingested < sent && Date.now() - start < target.ingestLagMs + 15_000) {
    await sleep(500)
    ingested = await target.ingested()
  }
  return { sent, ingested, waitedMs: Date.now() - start }
}

export async function runPhase(target: Target, pool: SimPool, o: PhaseOptions): Promise<PhaseResult> {
  const rssIdleMiB = rssMiB(target.pid)
  o.log(`${target.name}: connecting ${o.agents.length} agents, ${o.wave} at a time`)
  const connect = await pool.connect(target.wsUrl, o.agents, o.localAddresses, o.wave)
  o.log(
    `${target.name}: ${connect.ok} welcomed, ${connect.failed} failed in ${connect.seconds} s ${JSON.stringify(connect.errors)}`,
  )
  // Agents that failed to connect stay in the list: their commands answer 503 and show up in the status counts.
  const open = o.agents

  await pool.stream(true, o.intervalMs)
  o.log(`${target.name}: streaming metrics; warm-up ${o.intervalMs / 1000} s, then a ${o.durationS} s steady window`)
  await sleep(o.intervalMs)
  const xs0 = await transactions(target.dbTransactions)
  const s0 = await pool.stats()
  const w0 = cpuSnapshot(target.pid, target.postgresPid, s0.cpuSeconds)
  await sleep(o.durationS * 1000)
  const s1 = await pool.stats()
  const w1 = cpuSnapshot(target.pid, target.postgresPid, s1.cpuSeconds)
  const xs1 = await transactions(target.dbTransactions)
  const { seconds, postgresCpuPct, loadAvg1, ...cpu } = cpuBetween(w0, w1)
  const framesSent = s1.sent - s0.sent
  const steady = {
    seconds: Math.round(seconds * 10) / 10,
    framesSent,
    framesPerSec: Math.round(framesSent / seconds),
    offeredPerSec: Math.round((s1.open * 1000) / o.intervalMs),
    ...cpu,
    ...(target.postgresPid ? { postgresCpuPct } : {}),
    loadAvg1,
    cpuUsPerFrame: framesSent ? Math.round(((w1.target - w0.target) * 1e6) / framesSent) : Number.NaN,
  }
  o.log(`${target.name}: steady ${JSON.stringify(steady)}`)
  const rssAtNMiB = rssMiB(target.pid)
  const openFilesAtN = openFiles(target.pid)

  // One request of each kind first: the master caches a verified Basic Auth credential, and the first check runs
  // scrypt (tens of MB, a few hundred ms) which is not what a loaded API costs per request.
  await runLoad({
    baseUrl: target.httpUrl,
    path: () => target.listPath,
    count: 1,
    concurrency: 1,
    headers: target.headers,
  })
  await runLoad({
    baseUrl: target.httpUrl,
    path: () => target.commandPath(o.agents[0]!),
    count: 1,
    concurrency: 1,
    headers: target.headers,
  })
  // Latency while every agent keeps streaming: the figures the targets are about.
  const listSerial = await runLoad({
    baseUrl: target.httpUrl,
    path: () => target.listPath,
    count: o.requests,
    concurrency: 1,
    headers: target.headers,
  })
  o.log(`${target.name}: GET ${target.listPath}, one at a time ${JSON.stringify(listSerial)}`)
  const x0 = await transactions(target.dbTransactions)
  const list = await runLoad({
    baseUrl: target.httpUrl,
    path: () => target.listPath,
    count: o.requests,
    concurrency: o.listConcurrency,
    headers: target.headers,
  })
  o.log(`${target.name}: GET ${target.listPath}, ${o.listConcurrency} at a time ${JSON.stringify(list)}`)
  const x1 = await transactions(target.dbTransactions)
  const commandSerial = await runLoad({
    baseUrl: target.httpUrl,
    path: (i) => target.commandPath(pickAgent(open, i)),
    count: o.requests,
    concurrency: 1,
    headers: target.headers,
  })
  o.log(`${target.name}: command round trip, one at a time ${JSON.stringify(commandSerial)}`)
  const x2 = await transactions(target.dbTransactions)
  const rounds: CommandRound[] = []
  for (let round = 0; round < (o.commandRounds ?? 1); round++) {
    const r = await runCommandRound(target, pool, {
      agents: open,
      requests: o.requests,
      concurrency: o.commandConcurrency,
      offset: o.requests * (round + 1),
    })
    o.log(`${target.name}: command round trip, ${o.commandConcurrency} at a time ${JSON.stringify(r.command)}`)
    o.log(`${target.name}: CPU over the commands ${o.commandConcurrency} at a time ${JSON.stringify(r.commandWindow)}`)
    rounds.push(r)
  }
  const commandRoundsRps = rounds.map((r) => r.command.rps)
  // The median round (the upper one of an even count), with the CPU measured over that same round.
  const { command, commandWindow } = [...rounds].sort((a, b) => a.command.rps - b.command.rps)[rounds.length >> 1]!
  if (rounds.length > 1) o.log(`${target.name}: commands/s per round ${commandRoundsRps.join(', ')}; kept the median`)
  const x3 = await transactions(target.dbTransactions)
  const dbTransactionsPerRequest =
    // The in-flight window holds every round (the master's; the baseline has no database).
    xs0 && xs1 && x0 && x1 && x2 && x3
      ? perRequest({ xs0, xs1, x0, x1, x2, x3 }, o.requests, o.requests * rounds.length)
      : undefined
  if (dbTransactionsPerRequest)
    o.log(`${target.name}: PostgreSQL transactions per request ${JSON.stringify(dbTransactionsPerRequest)}`)

  await pool.stream(false, o.intervalMs)
  const ingestCheck = await awaitIngested(target, (await pool.stats()).sent)
  o.log(`${target.name}: ingestion check ${JSON.stringify(ingestCheck)}`)

  // Saturation: every agent sends a few frames back to back; the probe answers say when the target has handled them.
  const b = await pool.burst(o.burstFramesPerAgent, 120_000)
  const afterBurst = await awaitIngested(target, (await pool.stats()).sent)
  const burst = {
    frames: b.sent,
    answered: b.answered,
    seconds: Math.round(b.seconds * 100) / 100,
    framesPerSec: Math.round(b.sent / b.seconds),
    ingested: afterBurst.ingested,
    sent: afterBurst.sent,
  }
  o.log(`${target.name}: burst ${JSON.stringify(burst)}`)
  const s2 = await pool.stats()

  return {
    connect,
    rssIdleMiB,
    rssAtNMiB,
    rssPeakMiB: rssMiB(target.pid, 'VmHWM'),
    openFilesAtN,
    steady,
    commandWindow,
    ingestCheck,
    listSerial,
    list,
    commandSerial,
    command,
    commandRoundsRps,
    burst,
    ...(dbTransactionsPerRequest ? { dbTransactionsPerRequest } : {}),
    agentErrors: { dropped: s2.dropped, errorFrames: s2.errorFrames, badFrames: s2.badFrames },
  }
}
