import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The file scripts/start reads too; its comments say why each flag is there. */
export const NODE_FLAGS_FILE = fileURLToPath(new URL('../node-flags', import.meta.url))

/** The node flags the master runs with, for whatever starts it as a process (a bench, a test's cluster). */
export function masterNodeFlags(file = NODE_FLAGS_FILE): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}
