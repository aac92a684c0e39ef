// Stands in for `prisma migrate dev --create-only` and `prisma migrate diff --exit-code`, which need the native
// schema engine this machine cannot download (see MACHINE-NOTES.md).
//   tsx scripts/prisma-diff.ts --check          exit 0 when prisma/migrations produce schema.prisma, 2 with the drift
//   tsx scripts/prisma-diff.ts --create <name>  write prisma/migrations/<timestamp>_<name>/migration.sql
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  MIGRATION_LOCK_CONTENT,
  MIGRATION_LOCK_FILE,
  diffMigrationsAgainstSchema,
} from '../packages/master/src/db/schema-diff.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const migrationsDir = path.join(root, 'prisma', 'migrations')
const schemaPath = path.join(root, 'prisma', 'schema.prisma')
// Same shape as Prisma's own names so `prisma migrate` would accept the folder too.
const MIGRATION_NAME = /^[a-z0-9_]{1,200}$/

function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

async function check(): Promise<number> {
  const diff = await diffMigrationsAgainstSchema({ migrationsDir, schemaPath })
  if (!diff.drift) {
    console.log('prisma/migrations match prisma/schema.prisma')
    return 0
  }
  console.error('prisma/migrations do not match prisma/schema.prisma; the missing migration would be:\n')
  console.error(diff.sql)
  console.error('Run `tsx scripts/prisma-diff.ts --create <name>` to write it.')
  return 2
}

async function create(name: string | undefined): Promise<number> {
  if (!name || !MIGRATION_NAME.test(name)) {
    console.error('usage: tsx scripts/prisma-diff.ts --create <name>   (name: lower-case letters, digits, _)')
    return 64
  }
  const diff = await diffMigrationsAgainstSchema({ migrationsDir, schemaPath })
  if (!diff.drift) {
    console.log('prisma/migrations already match prisma/schema.prisma: no migration written')
    return 0
  }
  const dir = path.join(migrationsDir, `${timestamp(new Date())}_${name}`)
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'migration.sql'), diff.sql)
  const lockPath = path.join(migrationsDir, MIGRATION_LOCK_FILE)
  if (!existsSync(lockPath)) await writeFile(lockPath, MIGRATION_LOCK_CONTENT)
  console.log(`wrote ${path.relative(root, path.join(dir, 'migration.sql'))}`)
  return 0
}

const [command, arg] = process.argv.slice(2)
if (command === '--check') process.exitCode = await check()
else if (command === '--create') process.exitCode = await create(arg)
else {
  console.error('usage: tsx scripts/prisma-diff.ts --check | --create <name>')
  process.exitCode = 64
}
