import type { ResourceObject } from '../http/jsonapi.ts'
import type { Server } from '../generated/prisma/client.ts'

export type ServerRow = Server & {
  _count: { clients: number }
  latestMetrics?: { sample: unknown; takenAt: Date } | null
}

interface MetricsHeadline {
  ts?: number
  host?: { cpu?: number; load?: number[]; mem?: { total?: number; used?: number } }
}

/** Headline load from the stored latest sample, or null when the agent never reported. */
function headline(lastMetrics: unknown) {
  const m = lastMetrics as MetricsHeadline | null
  if (!m?.host || typeof m.ts !== 'number') return null
  const total = m.host.mem?.total ?? 0
  return {
    cpu: m.host.cpu ?? 0,
    load1: m.host.load?.[0] ?? 0,
    memUsedPercent: total > 0 ? Math.round(((m.host.mem?.used ?? 0) / total) * 1000) / 10 : 0,
    at: new Date(m.ts).toISOString(),
  }
}

/**
 * A server row as a JSON:API resource. `latest` (the newest sample from memory, fresher than the row's) makes the
 * full `metrics` attribute appear, as GET /servers/{id} shows it.
 */
export function serverResource(
  row: ServerRow,
  opts: {
    latest?: unknown
    headline?: unknown
    online?: boolean
    agentVersion?: string
    meta?: Record<string, unknown>
  } = {},
): ResourceObject {
  const lastMetrics = opts.latest ?? opts.headline ?? row.latestMetrics?.sample
  // The row's lastSeenAt moves when the agent connects or leaves; a stored sample is a later sign of life.
  const stored = row.latestMetrics?.takenAt
  const lastSeenAt = stored && (!row.lastSeenAt || stored > row.lastSeenAt) ? stored : row.lastSeenAt
  return {
    type: 'servers',
    id: row.id,
    attributes: {
      name: row.name,
      host: row.host,
      role: row.role,
      active: row.active,
      baseDomain: row.baseDomain,
      dbEngine: row.dbEngine,
      maxClients: row.maxClients,
      tlsEnabled: row.tlsEnabled,
      sitesPort: row.sitesPort,
      online: opts.online ?? row.online,
      lastSeenAt: lastSeenAt?.toISOString() ?? null,
      agentVersion: opts.agentVersion ?? row.agentVersion,
      clientsCount: row._count.clients,
      load: headline(lastMetrics),
      ...('latest' in opts ? { metrics: lastMetrics ?? null } : {}),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    },
    links: { self: `/servers/${row.id}` },
    ...(opts.meta ? { meta: opts.meta } : {}),
  }
}
