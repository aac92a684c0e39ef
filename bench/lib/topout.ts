// Where one master process stops taking agents: more agents connect, a wave at a time, until waves fail. The cap is
// the 20,000 open files per process (one per socket, plus the master's own files and database connections).
import { openFiles, rssMiB } from './proc.ts'
import type { SimPool } from './sim-pool.ts'
import type { SimIdentity } from './sim-protocol.ts'

export interface TopoutResult {
  /** Agents welcomed at the highest point (those of the main run plus the extra ones). */
  agentsAtTop: number
  openFilesAtTop?: number
  rssAtTopMiB?: number
  /** Agents that were attempted but refused, and why. */
  failed: number
  errors: Record<string, number>
  /** Still serving after the attempt: its process lives and GET /health answers. */
  masterAlive: boolean
  healthOk: boolean
  /** Connections the master dropped among those already open. */
  dropped: number
}

export async function findTopout(opts: {
  pool: SimPool
  wsUrl: string
  httpUrl: string
  pid: number
  alive: () => boolean
  extra: SimIdentity[]
  localAddresses: string[]
  wave: number
  log: (line: string) => void
}): Promise<TopoutResult> {
  const errors: Record<string, number> = {}
  let failed = 0
  let failingWaves = 0
  let top = { agents: (await opts.pool.stats()).open, files: openFiles(opts.pid), rss: rssMiB(opts.pid) }
  for (let i = 0; i < opts.extra.length && opts.alive(); i += opts.wave) {
    const r = await opts.pool.connect(
      opts.wsUrl,
      opts.extra.slice(i, i + opts.wave),
      opts.localAddresses,
      opts.wave,
      20_000,
    )
    failed += r.failed
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
    const open = (await opts.pool.stats()).open
    if (open > top.agents) top = { agents: open, files: openFiles(opts.pid), rss: rssMiB(opts.pid) }
    opts.log(`topout: +${r.ok} ok, ${r.failed} failed → ${open} open, master holds ${openFiles(opts.pid)} files`)
    // Two waves in a row mostly refused: that is the ceiling, not a hiccup.
    failingWaves = r.failed > r.ok ? failingWaves + 1 : 0
    if (failingWaves >= 2) break
  }
  // No answer within 10 s counts as not healthy.
  const healthOk = await fetch(`${opts.httpUrl}/health`, { signal: AbortSignal.timeout(10_000) }).then(
    (r) => r.ok,
    () => false,
  )
  const after = await opts.pool.stats()
  return {
    agentsAtTop: top.agents,
    openFilesAtTop: top.files,
    rssAtTopMiB: top.rss,
    failed,
    errors,
    masterAlive: opts.alive(),
    healthOk,
    dropped: after.dropped,
  }
}
