/**
 * The script's arguments without the `--` that `pnpm run bench:x -- --flag` passes through (pnpm forwards it as an
 * argument, and parseArgs would take it as the end of options, then refuse the flags after it as positionals).
 */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): string[] {
  return argv[0] === '--' ? argv.slice(1) : [...argv]
}
