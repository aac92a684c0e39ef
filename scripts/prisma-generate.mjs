// Runs `prisma generate` offline. The Prisma CLI wants its native schema engine even to generate, and it cannot be
// downloaded here; generation itself does not use it, so when the engine is absent we point the CLI at a stand-in
// file (see MACHINE-NOTES.md).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.resolve('packages/master/package.json'))
const cli = require.resolve('prisma/build/index.js')
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' }
const enginesDir = path.dirname(createRequire(cli).resolve('@prisma/engines/package.json'))
const hasEngine = ['schema-engine-debian-openssl-3.0.x', 'schema-engine-linux-musl-openssl-3.0.x'].some((f) =>
  existsSync(path.join(enginesDir, f)),
)
if (!hasEngine && !env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath
execFileSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], { stdio: 'inherit', env })
