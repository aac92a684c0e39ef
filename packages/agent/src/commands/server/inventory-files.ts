import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { domainSchema, portSchema, slugSchema, type InventoryFlags, type InventorySite } from '@alfa/protocol'
import { readInside } from '../../drivers/safe-files.ts'

const SITE_FILE = /^alfa-([a-z0-9-]+)\.conf$/
const FLAG_FILE = /^([a-z0-9-]+)\.(maintenance|expired)$/
/** Variables that are secrets: never hashed into a value the master stores (a hash of a password is guessable). */
const SECRET_KEYS = new Set(['DB_PASSWORD'])

/** What a site file the agent rendered says: its server_name, proxy_pass port and whether it listens with TLS. */
export function parseSite(text: string): Pick<InventorySite, 'domain' | 'upstreamPort' | 'tls'> {
  const domain = domainSchema.safeParse(/^\s*server_name (\S+);$/m.exec(text)?.[1])
  const port = portSchema.safeParse(Number(/^\s*proxy_pass http:\/\/\S+:(\d+);$/m.exec(text)?.[1]))
  return {
    domain: domain.success ? domain.data : null,
    upstreamPort: port.success ? port.data : null,
    tls: /^\s*listen \S+ ssl;$/m.test(text),
  }
}

/** Names in `dir`, or none when it does not exist yet (a server with no client has no pages dir). */
async function namesIn(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
}

/** Every alfa-<slug>.conf in the sites directory, parsed. */
export async function readSites(sitesDir: string): Promise<InventorySite[]> {
  const sites: InventorySite[] = []
  for (const name of (await namesIn(sitesDir)).sort()) {
    const slug = slugSchema.safeParse(SITE_FILE.exec(name)?.[1])
    if (!slug.success) continue
    const text = await readInside(sitesDir, name)
    if (text === undefined) continue
    sites.push({ slug: slug.data, file: path.join(await fs.realpath(sitesDir), name), ...parseSite(text) })
  }
  return sites
}

/** The flag files present in the pages directory, one entry per slug. */
export async function readFlags(pagesDir: string): Promise<InventoryFlags[]> {
  const bySlug = new Map<string, InventoryFlags>()
  for (const name of await namesIn(pagesDir)) {
    const match = FLAG_FILE.exec(name)
    const slug = slugSchema.safeParse(match?.[1])
    if (!match || !slug.success) continue
    const entry = bySlug.get(slug.data) ?? { slug: slug.data, maintenance: false, expired: false }
    entry[match[2] as 'maintenance' | 'expired'] = true
    bySlug.set(slug.data, entry)
  }
  return [...bySlug.values()].sort((a, b) => a.slug.localeCompare(b.slug))
}

/** sha256 of a container's own environment (the image's variables and secrets left out), order-independent. */
export function envHash(env: readonly string[], imageEnv: readonly string[]): string {
  const fromImage = new Set(imageEnv)
  const own = env.filter((entry) => !fromImage.has(entry) && !SECRET_KEYS.has(entry.slice(0, entry.indexOf('='))))
  return createHash('sha256').update(own.sort().join('\n')).digest('hex')
}

/** The value of KEY in a `KEY=value` list. */
export function envValue(env: readonly string[], key: string): string | undefined {
  const entry = env.find((e) => e.startsWith(`${key}=`))
  return entry?.slice(key.length + 1)
}
