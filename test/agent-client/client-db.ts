// Admin-side looks into a client's MariaDB database for the action tests: rows, columns, and a whole-database
// picture (every table's rows) to compare a database with its snapshot after a rollback.
import { containerNameForSlug } from '@alfa/protocol'
import mysql from 'mysql2/promise'
import type { AgentClientEnv } from './harness.ts'

/** `sql` as the server's admin in `dbName`, or in no database when it is null. */
export async function clientQuery(
  env: AgentClientEnv,
  dbName: string | null,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const c = await mysql.createConnection({
    host: '127.0.0.1',
    port: env.mariadb.port,
    user: env.mariadb.adminUser,
    password: env.mariadb.adminPassword,
    database: dbName ?? undefined,
    dateStrings: true,
  })
  try {
    const [rows] = await c.query(sql, params)
    return rows as Record<string, unknown>[]
  } finally {
    await c.end()
  }
}

/** Every table with its columns and all its rows (ordered by id or the first column): equal pictures, equal data. */
export async function databasePicture(
  env: AgentClientEnv,
  dbName: string,
): Promise<Record<string, { columns: string[]; rows: unknown[] }>> {
  const tables = await clientQuery(
    env,
    dbName,
    'SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY n',
    [dbName],
  )
  const picture: Record<string, { columns: string[]; rows: unknown[] }> = {}
  for (const { n } of tables as { n: string }[]) {
    const columns = (
      await clientQuery(
        env,
        dbName,
        'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
        [dbName, n],
      )
    ).map((r) => String(r.c))
    picture[n] = { columns, rows: await clientQuery(env, dbName, `SELECT * FROM ${mysql.escapeId(n)} ORDER BY 1`) }
  }
  return picture
}

/** The containers of `slug` on this test server (ours by label), by name. */
export async function containersOf(
  env: AgentClientEnv,
  slug: string,
): Promise<{ name: string; id: string; state: string }[]> {
  const list = await env.docker.listContainers({
    all: true,
    filters: { label: [`alfa.server=${env.serverId}`, `alfa.slug=${slug}`] },
  })
  return list
    .map((c) => ({ name: (c.Names[0] ?? '').replace(/^\//, ''), id: c.Id, state: c.State }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export const mainContainer = (slug: string) => containerNameForSlug(slug)

/**
 * The client's containers as Docker tells them (state, restarts, OOM kill, exit code, port, the last log lines):
 * printed beside an assertion on what the client serves, so a failure says whether the app was there to answer.
 */
export async function containerStory(env: AgentClientEnv, slug: string): Promise<string> {
  const lines: string[] = []
  for (const c of await containersOf(env, slug)) {
    const container = env.docker.getContainer(c.id)
    const info = await container.inspect().catch(() => undefined)
    if (!info) continue
    const s = info.State
    const ports = JSON.stringify(info.HostConfig.PortBindings ?? {})
    lines.push(
      `${c.name}: ${s.Status}, restarts ${info.RestartCount}, OOM killed ${s.OOMKilled}, exit ${s.ExitCode}, started ${s.StartedAt}, ports ${ports}`,
    )
    // Not a TTY: each chunk comes with an 8-byte header (stream, length), dropped here.
    const raw = await container.logs({ stdout: true, stderr: true, tail: 15, timestamps: true }).catch(() => undefined)
    if (!raw) continue
    for (let at = 0; at + 8 <= raw.length;) {
      const size = raw.readUInt32BE(at + 4)
      lines.push(
        `  ${raw
          .subarray(at + 8, at + 8 + size)
          .toString('utf8')
          .trimEnd()}`,
      )
      at += 8 + size
    }
  }
  return lines.join('\n')
}
