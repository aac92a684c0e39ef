import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AgentConfig } from './config.ts'
import { statePaths } from './state.ts'

/**
 * The fault tests' hook: with test commands on and `testPauseAt` = `<type>:<step>`, the command stops at that step
 * (already journaled), writes test-markers/paused and waits for its deadline (or `testPauseMs`, then goes on), so
 * the test can SIGKILL the agent, or the master, at exactly that point. A production agent (test commands off) never pauses.
 */
export async function pauseIfAsked(
  config: Pick<AgentConfig, 'testCommands' | 'testPauseAt' | 'testPauseMs' | 'stateDir'>,
  type: string,
  step: unknown,
  signal: AbortSignal,
): Promise<void> {
  if (!config.testCommands || config.testPauseAt === undefined || config.testPauseAt !== `${type}:${String(step)}`)
    return
  const dir = statePaths(config.stateDir).testMarkers
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  await fs.writeFile(path.join(dir, 'paused'), `${type}:${String(step)}\n`)
  await sleep(config.testPauseMs ?? 24 * 60 * 60_000, undefined, { signal })
}
