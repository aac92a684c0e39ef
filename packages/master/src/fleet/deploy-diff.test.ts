import type { ServerInventoryResult } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { deployDiff, isClean, type DeployRecord } from './deploy-diff.ts'

const ID_A = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70'
const ID_B = '1b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f71'
const ID_GONE = '2b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f72'

const record = (id: string, slug: string, extra: Partial<DeployRecord> = {}): DeployRecord => ({
  id,
  slug,
  domain: `${slug}.example.com`,
  status: 'active',
  image: 'app:1',
  maintenance: false,
  expired: false,
  memoryLimitMb: null,
  cpuLimit: null,
  ...extra,
})
const container = (id: string | undefined, slug: string, port: number) => ({
  id: port.toString(16).padStart(12, '0'),
  name: `alfa-${slug}`,
  slug,
  ...(id ? { clientId: id } : {}),
  image: 'app:1',
  state: 'running' as const,
  hostPort: port,
  memoryMb: 256,
  cpus: 1,
  appUrl: `http://${slug}.example.com`,
  envHash: 'a'.repeat(64),
})
const site = (slug: string, port: number) => ({
  slug,
  file: `/etc/nginx/conf.d/alfa-${slug}.conf`,
  domain: `${slug}.example.com`,
  upstreamPort: port,
  tls: false,
})
const db = (slug: string, exists = true) => ({
  slug,
  name: `alfa_${slug.replaceAll('-', '_')}`,
  database: exists,
  user: exists,
})

function healthy(): ServerInventoryResult {
  return {
    containers: [container(ID_A, 'lab-a', 41001), container(ID_B, 'lab-b', 41002)],
    sites: [site('lab-a', 41001), site('lab-b', 41002)],
    flags: [{ slug: 'lab-b', maintenance: true, expired: false }],
    databases: [db('lab-a'), db('lab-b')],
  }
}
const records = [record(ID_A, 'lab-a'), record(ID_B, 'lab-b', { maintenance: true, memoryLimitMb: 256 })]

describe('deployDiff', () => {
  it('a healthy server diffs to nothing', () => {
    const diff = deployDiff(records, healthy())
    expect(diff).toEqual({ changed: [], missing: [], orphaned: [] })
    expect(isClean(diff)).toBe(true)
  })

  it('reports a hand-deleted site and a hand-removed container as missing', () => {
    const inv = healthy()
    inv.sites = inv.sites.filter((s) => s.slug !== 'lab-a')
    inv.containers = inv.containers.filter((c) => c.slug !== 'lab-b')
    const diff = deployDiff(records, inv)
    expect(diff.missing.map((m) => [m.slug, m.what])).toEqual([
      ['lab-a', 'site'],
      ['lab-b', 'container'],
    ])
    expect(diff.changed).toEqual([])
  })

  it('reports image, state, limits, URL, site port, domain and flags that differ from the record', () => {
    const inv = healthy()
    Object.assign(inv.containers[0]!, { image: 'app:0', state: 'exited', appUrl: 'http://old.example.com' })
    Object.assign(inv.containers[1]!, { memoryMb: 512 })
    Object.assign(inv.sites[0]!, { upstreamPort: 40000, domain: 'old.example.com' })
    inv.flags = []
    const diff = deployDiff(records, inv)
    const details = diff.changed.map((c) => `${c.slug} ${c.what}: ${c.detail}`)
    expect(details).toEqual([
      'lab-a container: runs app:0, the record says app:1',
      'lab-a container: alfa-lab-a is exited',
      'lab-a container: APP_URL http://old.example.com is not for lab-a.example.com',
      'lab-a site: serves old.example.com, the record says lab-a.example.com',
      'lab-a site: points at port 40000, alfa-lab-a is on 41001',
      'lab-b container: memory 512 MB, the record says 256 MB',
      'lab-b flags: maintenance false, expired false; the record says true, false',
    ])
  })

  it('orphans (ours by label, no client here) are reported, with unlabelled ones and stray sites', () => {
    const inv = healthy()
    inv.containers.push(container(ID_GONE, 'lab-gone', 41003), container(undefined, 'lab-x', 41004))
    inv.sites.push(site('lab-gone', 41003))
    const diff = deployDiff(records, inv)
    expect(diff.orphaned.map((o) => [o.what, o.slug])).toEqual([
      ['container', 'lab-gone'],
      ['container', 'lab-x'],
      ['site', 'lab-gone'],
    ])
    expect(diff.orphaned[1]!.detail).toMatch(/no client label/)
  })

  it('a missing database is reported; clients being created or deleted are not compared, nor orphans', () => {
    const inv = healthy()
    inv.databases = [db('lab-a', false), db('lab-b')]
    inv.containers.push(container(ID_GONE, 'lab-new', 41005))
    const diff = deployDiff([...records, record(ID_GONE, 'lab-new', { status: 'creating' })], inv)
    expect(diff.missing.map((m) => [m.slug, m.what])).toEqual([['lab-a', 'database']])
    expect(diff.orphaned).toEqual([])
  })
})
