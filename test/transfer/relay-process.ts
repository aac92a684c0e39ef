// Runs test/fixtures/relay-server.ts as a child process and talks to it over stdin/stdout lines.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { masterChannel, type MasterChannel } from '@alfa/agent'
import type { RelayOutcome } from '@alfa/master'
import { REPO_ROOT } from '../support/cluster.ts'

export interface RelayProcess {
  pid: number
  /** The channel of an agent holding `credential`. */
  channel(credential: string): MasterChannel
  open(source: string, target: string): Promise<{ id: string; sendToken: string; receiveToken: string }>
  /** How transfer `id` ended at the relay. */
  ended(id: string): Promise<RelayOutcome>
  stop(): Promise<void>
}

export async function startRelay(credentials: [string, string][]): Promise<RelayProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/fixtures/relay-server.ts'), JSON.stringify(credentials)],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const waiting: ((line: Record<string, unknown>) => boolean)[] = []
  const endings = new Map<string, RelayOutcome>()
  readline.createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>
    if (typeof line.ended === 'string') {
      const { ended, ...outcome } = line
      endings.set(ended, outcome as unknown as RelayOutcome)
    }
    const i = waiting.findIndex((w) => w(line))
    if (i >= 0) waiting.splice(i, 1)
  })
  const next = <T>(accept: (line: Record<string, unknown>) => T | undefined) =>
    new Promise<T>((resolve) =>
      waiting.push((line) => {
        const value = accept(line)
        if (value === undefined) return false
        resolve(value)
        return true
      }),
    )
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`relay-server exited with ${code}\n`)
  })
  const { port } = await next((l) => (typeof l.port === 'number' ? { port: l.port } : undefined))
  return {
    pid: child.pid!,
    channel: (credential) => masterChannel(`ws://127.0.0.1:${port}/agent`, credential),
    async open(source, target) {
      const opened = next((l) =>
        typeof l.sendToken === 'string' ? (l as { id: string; sendToken: string; receiveToken: string }) : undefined,
      )
      child.stdin!.write(`open ${source} ${target}\n`)
      return opened
    },
    async ended(id) {
      const known = endings.get(id)
      if (known) return known
      return next((l) => (l.ended === id ? endings.get(id) : undefined))
    },
    async stop() {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}
