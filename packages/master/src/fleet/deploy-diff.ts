import { containerNameForSlug, type ServerInventoryResult } from '@alfa/protocol'

/** What the master's record says one client on the server should be. */
export interface DeployRecord {
  id: string
  slug: string
  domain: string
  status: string
  image: string | null
  maintenance: boolean
  /** Whether the expiry page should be served now (the master's clock and time zone decide). */
  expired: boolean
  memoryLimitMb: number | null
  cpuLimit: number | null
}

/** One piece that is not what the record says. */
export interface DiffEntry {
  clientId: string
  slug: string
  what: 'container' | 'site' | 'flags' | 'database'
  detail: string
}

/** Something ours by label (or by file name) that no client of this server claims: reported, never deleted. */
export interface OrphanEntry {
  what: 'container' | 'site'
  name: string
  slug?: string
  clientId?: string
  detail: string
}

export interface DeployDiff {
  changed: DiffEntry[]
  missing: DiffEntry[]
  orphaned: OrphanEntry[]
}

const hostOf = (url: string | null) => {
  if (url === null) return null
  try {
    return new URL(url).hostname
  } catch {
    // An APP_URL that is not a URL cannot name the client's domain: it differs, which the caller reports.
    return null
  }
}

/**
 * The difference between what the server has (its agent's inventory) and what the records say it should have.
 * Only active clients are compared (a client being created or deleted is in motion); a healthy server diffs to
 * nothing. A deploy fixes `changed` and `missing` (except a missing database: data is never made up).
 */
export function deployDiff(records: readonly DeployRecord[], inv: ServerInventoryResult): DeployDiff {
  const diff: DeployDiff = { changed: [], missing: [], orphaned: [] }
  const known = new Map(records.filter((r) => r.status !== 'deleted').map((r) => [r.id, r]))
  const knownSlugs = new Set([...known.values()].map((r) => r.slug))

  for (const r of [...known.values()]
    .filter((x) => x.status === 'active')
    .sort((a, b) => a.slug.localeCompare(b.slug))) {
    const entry = (what: DiffEntry['what'], detail: string) => ({ clientId: r.id, slug: r.slug, what, detail })
    const changed = (what: DiffEntry['what'], detail: string) => diff.changed.push(entry(what, detail))
    const name = containerNameForSlug(r.slug)
    const container = inv.containers.find((c) => c.name === name)
    if (!container) diff.missing.push(entry('container', `${name} does not exist`))
    else if (container.clientId !== r.id)
      changed('container', `${name} is labelled for client ${container.clientId ?? 'none'}`)
    else {
      if (r.image !== null && container.image !== r.image)
        changed('container', `runs ${container.image}, the record says ${r.image}`)
      if (container.state !== 'running') changed('container', `${name} is ${container.state}`)
      if (container.hostPort === null) changed('container', `${name} publishes no port`)
      if (r.memoryLimitMb !== null && container.memoryMb !== r.memoryLimitMb)
        changed('container', `memory ${container.memoryMb ?? 'unlimited'} MB, the record says ${r.memoryLimitMb} MB`)
      if (r.cpuLimit !== null && Math.abs((container.cpus ?? 0) - r.cpuLimit) > 1e-6)
        changed('container', `${container.cpus ?? 'unlimited'} CPUs, the record says ${r.cpuLimit}`)
      if (hostOf(container.appUrl) !== r.domain)
        changed('container', `APP_URL ${container.appUrl ?? 'unset'} is not for ${r.domain}`)
    }
    for (const extra of inv.containers.filter((c) => c.clientId === r.id && c.name !== name))
      changed('container', `extra container ${extra.name} (${extra.state}), left by an unfinished switch?`)

    const site = inv.sites.find((s) => s.slug === r.slug)
    if (!site) diff.missing.push(entry('site', `alfa-${r.slug}.conf does not exist`))
    else {
      if (site.domain !== r.domain)
        changed('site', `serves ${site.domain ?? 'no server_name'}, the record says ${r.domain}`)
      if (container?.hostPort != null && site.upstreamPort !== container.hostPort)
        changed('site', `points at port ${site.upstreamPort ?? 'none'}, ${name} is on ${container.hostPort}`)
    }

    const flags = inv.flags.find((f) => f.slug === r.slug) ?? { maintenance: false, expired: false }
    if (flags.maintenance !== r.maintenance || flags.expired !== r.expired)
      changed(
        'flags',
        `maintenance ${flags.maintenance}, expired ${flags.expired}; the record says ${r.maintenance}, ${r.expired}`,
      )

    const db = inv.databases.find((d) => d.slug === r.slug)
    if (db && !db.database) diff.missing.push(entry('database', `${db.name} does not exist (restore from a backup)`))
  }

  for (const c of inv.containers) {
    if (c.clientId !== undefined && known.has(c.clientId)) continue
    diff.orphaned.push({
      what: 'container',
      name: c.name,
      ...(c.slug ? { slug: c.slug } : {}),
      ...(c.clientId ? { clientId: c.clientId } : {}),
      detail: `${c.state}, ${c.image}: ${c.clientId ? 'its client is not on this server' : 'no client label'}`,
    })
  }
  for (const s of inv.sites.filter((x) => !knownSlugs.has(x.slug)))
    diff.orphaned.push({ what: 'site', name: s.file, slug: s.slug, detail: `serves ${s.domain ?? 'no server_name'}` })
  return diff
}

/** True when the diff holds nothing to change, nothing missing and no orphan. */
export const isClean = (d: DeployDiff) => d.changed.length + d.missing.length + d.orphaned.length === 0
