import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { MASTER_MAIN, masterArgs, masterNodeFlags } from './node-flags.ts'

// Allocates far more than the young generation holds, keeping a slice alive, then prints its size in MB: the figure
// V8 grew it to, which the semi-space flag caps (two halves).
const NEW_SPACE_MB = `
  const v8 = require('node:v8'); let keep = []
  for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 200000) keep = [] }
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  console.log(space.space_size / 2 ** 20)
`

describe('masterNodeFlags', () => {
  it('reads flags one per line, skipping comments and blank lines', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'node-flags-')), 'node-flags')
    writeFileSync(file, '# why\n\n--max-semi-space-size=8\n  --stack-trace-limit=20  \n# --not-this\n')
    expect(masterNodeFlags(file)).toEqual(['--max-semi-space-size=8', '--stack-trace-limit=20'])
  })

  it("gives node flags it accepts, and the young generation grows past V8's default 2 x 16 MB with them", () => {
    const flags = masterNodeFlags()
    expect(flags).toContain('--max-semi-space-size=64')
    const sized = (args: string[]) =>
      Number(execFileSync(process.execPath, [...args, '-e', NEW_SPACE_MB], { encoding: 'utf8' }))
    expect(sized([])).toBeLessThanOrEqual(32)
    expect(sized(flags)).toBeGreaterThan(32)
  })
})

describe('masterArgs', () => {
  it("puts the master's flags first, then the caller's, then tsx and the entry point (an absolute path)", () => {
    const args = masterArgs(['--cpu-prof'])
    expect(args).toEqual([...masterNodeFlags(), '--cpu-prof', '--import', 'tsx', MASTER_MAIN])
    expect(path.isAbsolute(MASTER_MAIN) && existsSync(MASTER_MAIN)).toBe(true)
    expect(masterArgs()).toEqual([...masterNodeFlags(), '--import', 'tsx', MASTER_MAIN])
  })
})
