import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runPairedRounds, type PairedSide } from './paired-rounds.ts'
import type { Target } from './phase.ts'
import { processState } from './proc.ts'
import type { PoolStats } from './sim-pool.ts'

// Two real HTTP servers in their own processes stand in for the master and the baseline: the pairs' order, the
// freezing of the side not measured, and the figure are what is checked here (the simulators are not needed).
const SERVER = `require('node:http').createServer((q, s) => s.end('{}')).listen(0, '127.0.0.1', function () {
  process.stdout.write(String(this.address().port) + '\\n') })`

const children: ChildProcess[] = []

async function side(name: 'baseline' | 'master', events: string[], other: () => number): Promise<PairedSide> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
  const target: Target = {
    name,
    httpUrl: `http://127.0.0.1:${chunk.toString().trim()}`,
    wsUrl: '',
    pid: child.pid!,
    listPath: '/',
    commandPath: (a) => `/cmd/${a.serverId}`,
    headers: {},
    ingested: async () => 0,
    ingestLagMs: 0,
  }
  const stats = async (): Promise<PoolStats> => {
    // Read inside the round: the other target must be stopped (T) while this one is measured.
    events.push(`${name} measured, other ${processState(other())}`)
    return { open: 1, sent: 0, commands: 0, badFrames: 0, errorFrames: 0, dropped: 0, cpuSeconds: 0, rssMiB: 0 }
  }
  const stream = async (on: boolean) => void (on && events.push(`${name} streams`))
  return { target, pool: { stream, stats }, agents: [{ serverId: 's1', secret: 'x' }] }
}

describe('runPairedRounds', () => {
  const events: string[] = []
  let sides: { baseline: PairedSide; master: PairedSide }

  beforeAll(async () => {
    const baseline = await side('baseline', events, () => sides.master.target.pid)
    const master = await side('master', events, () => sides.baseline.target.pid)
    sides = { baseline, master }
  })
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')))

  it('alternates the order after a warm-up pair, freezes the side not measured, and keeps the median pair', async () => {
    const result = await runPairedRounds(sides, {
      pairs: 3,
      requests: 50,
      concurrency: 4,
      intervalMs: 5_000,
      settleMs: 10,
      log: () => {},
    })
    const streams = events.filter((e) => e.endsWith('streams')).map((e) => e.split(' ')[0])
    // Warm-up (baseline, master), then pairs led by baseline, master, baseline.
    expect(streams).toEqual(['baseline', 'master', 'baseline', 'master', 'master', 'baseline', 'baseline', 'master'])
    const measured = events.filter((e) => e.includes('measured'))
    expect(measured).toHaveLength(16) // two readings per round
    expect(measured.every((e) => e.endsWith('other T'))).toBe(true)
    // Both continue afterwards.
    expect([processState(sides.baseline.target.pid), processState(sides.master.target.pid)]).not.toContain('T')
    expect(result.pairs.map((p) => p.first)).toEqual(['baseline', 'master', 'baseline'])
    for (const p of result.pairs) expect(p.ratio).toBe(p.masterRps / p.baselineRps)
    const sorted = result.pairs.map((p) => p.ratio).sort((a, b) => a - b)
    expect(result.medianRatio).toBe(sorted[1])
  })
})
