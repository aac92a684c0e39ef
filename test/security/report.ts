// The security checklist's report, the one helper of test/security: a case is either a whole test (securityCase:
// held = the test passed) or a row a test records itself (recordCase, for tests that check several rules in one
// setting). When the file ends, the table of its cases and the table of all cases of the run so far are printed.
// The master-side and tenant-side suites append to the same run-wide table.
import { appendFileSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, inject, it } from 'vitest'

interface Row {
  case: string
  held: boolean
}

/** One JSON line per case, shared by the run's workers (the run's scratch dir, else the system temp dir). */
function reportFile(): string {
  let dir: string
  try {
    dir = inject('runTempDir')
  } catch {
    dir = os.tmpdir()
  }
  return path.join(dir ?? os.tmpdir(), 'security-report.jsonl')
}

const rows: Row[] = []
let registered = false

function table(list: Row[]): string {
  const width = Math.max(4, ...list.map((r) => r.case.length))
  const line = (a: string, b: string) => `| ${a.padEnd(width)} | ${b.padEnd(4)} |`
  return [
    line('case', 'held'),
    `|${'-'.repeat(width + 2)}|------|`,
    ...list.map((r) => line(r.case, r.held ? 'yes' : 'no')),
  ].join('\n')
}

function record(row: Row) {
  rows.push(row)
  appendFileSync(reportFile(), JSON.stringify(row) + '\n')
}

/** Prints the file's table and the run's table when the file ends; call at the top of a file that records rows. */
export function reportSecurityCases(): void {
  if (registered) return
  registered = true
  afterAll(() => {
    const all = readFileSync(reportFile(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row)
    process.stdout.write(`\nsecurity cases of this file:\n${table(rows)}\n`)
    process.stdout.write(`\nsecurity cases of the run so far (${all.length}):\n${table(all)}\n`)
  })
}

/** Records one row from inside a test; returns `held` so the test can assert on it in the same line. */
export function recordCase(name: string, held: boolean): boolean {
  record({ case: name, held })
  return held
}

/**
 * A test of one security rule: `it(name, fn)` whose outcome is a row of the report (held = the test passed). The
 * name should say the rule as a user would check it ("a 200 MB unauthenticated body is refused with 413").
 */
export function securityCase(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void {
  reportSecurityCases()
  it(
    name,
    async () => {
      try {
        await fn()
      } catch (error) {
        record({ case: name, held: false })
        throw error
      }
      record({ case: name, held: true })
    },
    timeoutMs,
  )
}
