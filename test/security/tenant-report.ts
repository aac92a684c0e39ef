// The table the security tests print: one row per case with whether it held. Until a shared report exists, each
// file keeps its own rows and prints them when it ends.

export interface SecurityCase {
  case: string
  held: boolean
}

/** Rows for one test file; `print()` writes the table (console.table) and a JSON line for tooling. */
export function securityReport(title: string) {
  const rows: SecurityCase[] = []
  return {
    /** Records a case; returns `held` so a test can assert on it in the same line. */
    record(name: string, held: boolean): boolean {
      rows.push({ case: name, held })
      return held
    },
    print() {
      console.info(`\n${title}`)
      console.table(rows)
      console.info(JSON.stringify({ report: title, cases: rows }))
    },
  }
}
