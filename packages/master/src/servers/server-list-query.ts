import type { Sql } from '../db/sql.ts'
import type { SERVER_SORTABLE } from './server-schemas.ts'
import type { ServerRow } from './server-serializer.ts'

export interface ServerListOptions {
  active: 'true' | 'false' | 'all'
  role?: 'production' | 'stage'
  online?: 'true' | 'false'
  page: { number: number; size: number }
  sort: { field: string; desc: boolean }[]
}

/** Sortable attributes and their columns: the only identifiers that reach the SQL, never the request's text. */
const SORT_COLUMNS: Record<(typeof SERVER_SORTABLE)[number], string> = {
  name: '"name"',
  createdAt: '"createdAt"',
  role: '"role"',
  maxClients: '"maxClients"',
}

function sortColumn(field: string): string {
  const column = SORT_COLUMNS[field as keyof typeof SORT_COLUMNS] as string | undefined
  if (!column) throw new Error(`servers cannot be sorted by ${field}`)
  return column
}

/** The page's servers with their live-client count and what the list shows of the stored latest sample (the headline). */
const PAGE_COLUMNS = `s.id, s.name, s.host, s.role::text AS role, s.active, s."baseDomain", s."dbEngine"::text AS "dbEngine",
  s."maxClients", s."tlsEnabled", s."sitesPort", s.online, s."lastSeenAt", s."agentVersion", s."createdAt", s."updatedAt",
  CASE WHEN m.sample IS NULL THEN NULL ELSE jsonb_build_object('ts', m.sample->'ts', 'host',
    jsonb_build_object('cpu', m.sample->'host'->'cpu', 'load', m.sample->'host'->'load', 'mem', m.sample->'host'->'mem')) END AS headline,
  m."takenAt",
  (SELECT count(*)::int FROM "Client" c WHERE c."serverId" = s.id AND c.status <> 'deleted') AS "clientsCount"`

type Listed = Omit<ServerRow, 'capabilities' | '_count' | 'latestMetrics'> & {
  clientsCount: number
  headline: unknown
  takenAt: Date | null
}

/** Statement texts this process prepares by name (PostgreSQL then plans each once per connection); others go unnamed. */
const MAX_NAMED = 32

/**
 * GET /servers in one round trip. Counting 15,000 servers is most of the database's work for a page of 20, so a
 * total is reused for `totalTtlMs` unless this process changed a server meanwhile: another replica's change shows in
 * meta.total within that time. Totals filtered by `online` change with every agent connection and are always counted.
 */
export function createServerListQuery(deps: { sql: Sql; totalTtlMs?: number; now?: () => number }) {
  const ttl = deps.totalTtlMs ?? 1_000
  const now = deps.now ?? (() => performance.now())
  const totals = new Map<string, { total: number; until: number }>()
  const names = new Map<string, string>()

  function statementName(text: string): string | undefined {
    let name = names.get(text)
    if (!name && names.size < MAX_NAMED) names.set(text, (name = `servers-list-${names.size}`))
    return name
  }

  return {
    async list(opts: ServerListOptions): Promise<{ rows: ServerRow[]; total: number }> {
      const params: unknown[] = []
      const conditions: string[] = []
      if (opts.active !== 'all') conditions.push(`s.active = $${params.push(opts.active === 'true')}`)
      if (opts.role) conditions.push(`s.role = $${params.push(opts.role)}::"ServerRole"`)
      if (opts.online) conditions.push(`s.online = $${params.push(opts.online === 'true')}`)
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''
      const order = [...opts.sort.map((s) => `s.${sortColumn(s.field)} ${s.desc ? 'DESC' : 'ASC'}`), 's.id ASC'].join(
        ', ',
      )
      const limit = `LIMIT $${params.push(opts.page.size)} OFFSET $${params.push((opts.page.number - 1) * opts.page.size)}`
      const page = `SELECT ${PAGE_COLUMNS} FROM "Server" s LEFT JOIN "ServerMetrics" m ON m."serverId" = s.id ${where} ORDER BY ${order} ${limit}`

      const key = where + JSON.stringify(params.slice(0, conditions.length))
      const known = opts.online ? undefined : totals.get(key)
      let total: number
      let found: Listed[]
      if (known && known.until > now()) {
        total = known.total
        found = await deps.sql.query<Listed>(page, params, statementName(page))
      } else {
        // The total row always comes back, with the page LEFT JOINed to it (no servers past the last page).
        const text = `SELECT t.total, p.* FROM (SELECT count(*)::int AS total FROM "Server" s ${where}) t LEFT JOIN LATERAL (${page}) p ON true`
        const rows = await deps.sql.query<Listed & { total: number }>(text, params, statementName(text))
        total = rows[0]?.total ?? 0
        found = rows.filter((r) => r.id !== null)
        if (!opts.online) totals.set(key, { total, until: now() + ttl })
      }
      return {
        total,
        rows: found.map((r): ServerRow => ({
          id: r.id,
          name: r.name,
          host: r.host,
          role: r.role,
          active: r.active,
          baseDomain: r.baseDomain,
          dbEngine: r.dbEngine,
          maxClients: r.maxClients,
          tlsEnabled: r.tlsEnabled,
          sitesPort: r.sitesPort,
          online: r.online,
          lastSeenAt: r.lastSeenAt,
          agentVersion: r.agentVersion,
          // Not shown by the API, and parsing each row's text[] cost more than the rest of the row.
          capabilities: [],
          createdAt: r.createdAt,
          updatedAt: r.updatedAt,
          _count: { clients: r.clientsCount },
          latestMetrics: r.takenAt ? { sample: r.headline, takenAt: r.takenAt } : null,
        })),
      }
    },

    /** This process created, changed or removed a server: the next list counts afresh. */
    invalidate(): void {
      totals.clear()
    },
  }
}

export type ServerListQuery = ReturnType<typeof createServerListQuery>
