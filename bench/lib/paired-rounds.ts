// The in-flight commands of the master and the baseline measured in turns, seconds apart, with both up and each fleet
// connected to its own target: the figure divides each master round by the baseline round beside it.
//
// Why: the phases measure the baseline, then the master, minutes apart, and on this shared 2-core VM the same code
// ran at 113–233 µs of CPU per command (the baseline) and 340–669 (the master) from run to run (bench/README.md,
// 2026-12-04): whichever side caught a slow spell decided the ratio. Pairs seconds apart see the same machine; the
// order alternates within pairs so neither side always runs first after a switch.
//
// The side not measured is frozen (SIGSTOP) during the other's round, its fleet quiet: each round runs on a machine
// where the other target does nothing, as in the phases, where the other did not exist. Without it the master's idle
// work (pings to 15,000 quiet agents, its minute's metrics flush into PostgreSQL) ran inside the baseline's rounds
// as 10–51 % of a core of "not ours" CPU (first try, 15:13). One pair runs first unmeasured: a baseline idle through
// the master's minutes-long phase ran its first round at a third of its later speed.
import { setTimeout as sleep } from 'node:timers/promises'
import { runCommandRound, type CommandRound } from './command-round.ts'
import type { Target } from './phase.ts'
import { processState } from './proc.ts'
import type { SimPool } from './sim-pool.ts'
import type { SimIdentity } from './sim-protocol.ts'
import { median } from './stats.ts'

export interface PairedSide {
  target: Target
  pool: Pick<SimPool, 'stream' | 'stats'>
  agents: readonly SimIdentity[]
}

export interface Pair {
  first: 'baseline' | 'master'
  baselineRps: number
  masterRps: number
  /** masterRps / baselineRps, unrounded. */
  ratio: number
  baselineUsPerCommand: number
  masterUsPerCommand: number
  /** Busy CPU of processes outside the bench during each round, % of one core. */
  baselineForeignPct: number
  masterForeignPct: number
}

export interface PairedResult {
  pairs: Pair[]
  /** The median pair's ratio (the lower middle one for an even count: the stricter reading). */
  medianRatio: number
}

export async function runPairedRounds(
  sides: { baseline: PairedSide; master: PairedSide },
  o: {
    pairs: number
    requests: number
    concurrency: number
    intervalMs: number
    /** Pause after switching the streaming fleet, before the round: the switched-off target's backlog drains. */
    settleMs: number
    log: (line: string) => void
  },
): Promise<PairedResult> {
  const round = async (name: 'baseline' | 'master', k: number): Promise<CommandRound> => {
    const on = sides[name]
    const off = sides[name === 'baseline' ? 'master' : 'baseline']
    // Only the measured target's fleet streams, as in its phase: the other side's ingest would load both rounds.
    await off.pool.stream(false, o.intervalMs)
    await on.pool.stream(true, o.intervalMs)
    await sleep(o.settleMs)
    await freeze(off.target.pid)
    try {
      return await runCommandRound(on.target, on.pool, {
        agents: on.agents,
        requests: o.requests,
        concurrency: o.concurrency,
        offset: o.requests * (10 + k),
      })
    } finally {
      process.kill(off.target.pid, 'SIGCONT')
    }
  }
  const warm = [await round('baseline', -1), await round('master', -1)].map((r) => r.command.rps)
  o.log(`paired rounds: warm-up pair (not counted), commands/s baseline ${warm[0]}, master ${warm[1]}`)
  const pairs: Pair[] = []
  for (let k = 0; k < o.pairs; k++) {
    const first = k % 2 === 0 ? 'baseline' : 'master'
    const a = await round(first, k)
    const b = await round(first === 'baseline' ? 'master' : 'baseline', k)
    const [base, master] = first === 'baseline' ? [a, b] : [b, a]
    const pair: Pair = {
      first,
      baselineRps: base.command.rps,
      masterRps: master.command.rps,
      ratio: master.command.rps / base.command.rps,
      baselineUsPerCommand: base.commandWindow.targetCpuUsPerCommand,
      masterUsPerCommand: master.commandWindow.targetCpuUsPerCommand,
      baselineForeignPct: base.commandWindow.foreignCpuPct,
      masterForeignPct: master.commandWindow.foreignCpuPct,
    }
    o.log(`paired round ${k + 1}/${o.pairs}: ${JSON.stringify({ ...pair, ratio: round2(pair.ratio) })}`)
    const failed = [base, master].filter((r) => (r.command.statuses['200'] ?? 0) < o.requests)
    if (failed.length)
      o.log(`paired round ${k + 1}: non-200 answers ${JSON.stringify(failed.map((r) => r.command.statuses))}`)
    pairs.push(pair)
  }
  await sides.baseline.pool.stream(false, o.intervalMs)
  await sides.master.pool.stream(false, o.intervalMs)
  return {
    pairs,
    medianRatio: median(
      pairs.map((p) => p.ratio),
      'lower',
    ),
  }
}

/** Stops a process and waits until it is stopped: a signal is delivered after kill() returns, not before. */
async function freeze(pid: number): Promise<void> {
  // kill(0) or a negative pid would stop a whole process group, the bench's own included.
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process to freeze: ${pid}`)
  process.kill(pid, 'SIGSTOP')
  for (let i = 0; i < 200 && processState(pid) !== 'T'; i++) await sleep(5)
  if (processState(pid) !== 'T') throw new Error(`process ${pid} did not stop within a second of SIGSTOP`)
}

const round2 = (v: number) => Math.round(v * 100) / 100

/** The report's lines for the pairs: one per pair, in the order they ran. */
export function describePairs(p: PairedResult): string[] {
  return [
    `paired rounds (master and baseline seconds apart, order alternating): median ratio ${round2(p.medianRatio)}`,
    ...p.pairs.map(
      (x, i) =>
        `  pair ${i + 1} (${x.first} first): commands/s ${x.masterRps} / ${x.baselineRps} = ${round2(x.ratio)}; ` +
        `µs per command ${x.masterUsPerCommand} / ${x.baselineUsPerCommand}; ` +
        `not-ours CPU % ${x.masterForeignPct} / ${x.baselineForeignPct}`,
    ),
  ]
}
