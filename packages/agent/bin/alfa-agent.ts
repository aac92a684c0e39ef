#!/usr/bin/env node
// CLI entry: `node --import tsx packages/agent/bin/alfa-agent.ts <enroll|run|doctor>`; the logic lives in src/cli.ts.
import { main } from '../src/cli.ts'

try {
  // Exit explicitly: idle keep-alive sockets (Docker's HTTP agent) must not hold a finished command open.
  process.exit(await main(process.argv.slice(2)))
} catch (error) {
  process.stderr.write(
    `alfa-agent: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exit(1)
}
