import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The file scripts/start reads too; its comments say why each flag is there. */
export const NODE_FLAGS_FILE = fileURLToPath(new URL('../node-flags', import.meta.url))

/** The master's entry point, as an absolute path: the command line below works from any directory. */
export const MASTER_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))

/** The node flags the master runs with, for whatever starts it as a process (a bench, a test's cluster). */
export function masterNodeFlags(file = NODE_FLAGS_FILE): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}

/**
 * node's arguments for the master as scripts/start runs it (its flags, tsx, main.ts), for whatever else starts it as
 * a process: the tests' clusters and the benches. `extra` are node flags that go after the master's own (a
 * profiler's, say), so they can override them.
 */
export const masterArgs = (extra: readonly string[] = []): string[] => [
  ...masterNodeFlags(),
  ...extra,
  '--import',
  'tsx',
  MASTER_MAIN,
]
