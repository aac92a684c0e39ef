// One round of commands `concurrency` at a time against one target, with the CPU each process spent over it: the
// unit the phases' in-flight rounds and the paired rounds (paired-rounds.ts) are both made of.
import { runLoad, type LoadResult } from './http-load.ts'
import type { Target } from './phase.ts'
import type { SimPool } from './sim-pool.ts'
import type { SimIdentity } from './sim-protocol.ts'
import { cpuBetween, cpuSnapshot } from './window-cpu.ts'

export type CommandWindow = ReturnType<typeof cpuBetween> & {
  targetCpuUsPerCommand: number
  postgresCpuUsPerCommand: number
}

export interface CommandRound {
  command: LoadResult
  commandWindow: CommandWindow
}

/** Agent k of a round: a stride through the list, so consecutive commands go to agents in different simulators. */
export const pickAgent = (agents: readonly SimIdentity[], k: number) => agents[(k * 7919) % agents.length]!

export async function runCommandRound(
  target: Target,
  pool: Pick<SimPool, 'stats'>,
  o: { agents: readonly SimIdentity[]; requests: number; concurrency: number; offset: number },
): Promise<CommandRound> {
  const c0 = cpuSnapshot(target.pid, target.postgresPid, (await pool.stats()).cpuSeconds)
  const command = await runLoad({
    baseUrl: target.httpUrl,
    path: (i) => target.commandPath(pickAgent(o.agents, i + o.offset)),
    count: o.requests,
    concurrency: o.concurrency,
    headers: target.headers,
  })
  const c1 = cpuSnapshot(target.pid, target.postgresPid, (await pool.stats()).cpuSeconds)
  return {
    command,
    commandWindow: {
      ...cpuBetween(c0, c1),
      // Per command, everything the process did meanwhile included (the master also ingests metrics).
      targetCpuUsPerCommand: Math.round(((c1.target - c0.target) * 1e6) / o.requests),
      postgresCpuUsPerCommand: Math.round(((c1.postgres - c0.postgres) * 1e6) / o.requests),
    },
  }
}
