// Starts the raw baseline (baseline-server.ts) in its own process and describes it as a bench target.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Target } from './phase.ts'

const SERVER = fileURLToPath(new URL('./baseline-server.ts', import.meta.url))

export async function startBaselineTarget(
  cwd: string,
  track: (child: ChildProcess) => void,
): Promise<{ target: Target; stop: () => void }> {
  const child = fork(SERVER, [], { cwd, execArgv: ['--import', 'tsx'] })
  track(child)
  let ingested = 0
  child.on('message', (m: { type: string; metrics?: number }) => {
    if (m.type === 'stats') ingested = m.metrics!
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') resolve(m.port!)
    })
    child.once('exit', (code) => reject(new Error(`the baseline server exited (${code}) while starting`)))
  })
  const askIngested = () =>
    new Promise<number>((resolve) => {
      child.once('message', () => resolve(ingested))
      child.send({ type: 'stats' })
    })
  return {
    target: {
      name: 'baseline',
      httpUrl: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}/agent`,
      pid: child.pid!,
      listPath: '/x',
      commandPath: (a) => `/cmd/${a.serverId}`,
      headers: {},
      ingested: askIngested,
      ingestLagMs: 0,
    },
    stop: () => void child.kill('SIGTERM'),
  }
}
