import type Dockerode from 'dockerode'
import { containerNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'
import { CLIENT_LABEL, SERVER_LABEL } from '../commands/container/labels.ts'

/** Each client network is one /28 (the app and a switch's successor, with room to spare). */
const BLOCK_BITS = 28
const BLOCK_SIZE = 2 ** (32 - BLOCK_BITS)
/** Another agent (or a create in parallel) may take the block we chose: try the next one. */
const ALLOCATE_ATTEMPTS = 5

const toInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
const toIp = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')

/** An IPv4 CIDR as its first address and size; undefined for anything else (IPv6 pools are not ours). */
function range(cidr: string): { start: number; size: number } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr)
  if (!match) return undefined
  const size = 2 ** (32 - Number(match[2]))
  return { start: Math.floor(toInt(match[1] as string) / size) * size, size }
}

/**
 * The first /28 of `pool` that overlaps none of `used` (CIDRs of existing networks) and is not in `tried`;
 * undefined when the pool is full or not an IPv4 CIDR.
 */
export function freeBlock(pool: string, used: readonly string[], tried: ReadonlySet<string> = new Set()) {
  const whole = range(pool)
  if (!whole) return undefined
  const taken = used.map(range).filter((r) => r !== undefined)
  for (let start = whole.start; start + BLOCK_SIZE <= whole.start + whole.size; start += BLOCK_SIZE) {
    const block = `${toIp(start)}/${BLOCK_BITS}`
    const overlaps = taken.some((u) => u.start < start + BLOCK_SIZE && start < u.start + u.size)
    if (!overlaps && !tried.has(block)) return block
  }
  return undefined
}

/**
 * One Docker bridge network per client, `alfa-<slug>`, labelled like its containers: Docker's isolation rules keep
 * one client's container from reaching another's (its IP and its app port), while the host itself (the database on
 * the docker bridge gateway) stays reachable. Subnets are /28 blocks of `pool`, chosen here: Docker's own default
 * pools hold about 30 networks, far fewer than a server's clients.
 */
export function createClientNetworks(o: { docker: Dockerode; serverId: string; pool: string }) {
  const { docker } = o
  const nameOf = (slug: string) => containerNameForSlug(slug)

  async function inspectOurs(name: string): Promise<Dockerode.NetworkInspectInfo | undefined> {
    try {
      const info = (await docker.getNetwork(name).inspect()) as Dockerode.NetworkInspectInfo
      if (info.Labels?.[SERVER_LABEL] !== o.serverId) {
        throw new CommandError(wireError('CONFLICT', `network ${name} exists but does not belong to this server`))
      }
      return info
    } catch (error) {
      if (error instanceof CommandError) throw error
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined
      throw dockerFailure(error, `inspecting network ${name}`)
    }
  }

  /** A free block of the pool, given the subnets Docker holds now. */
  async function allocate(tried: Set<string>): Promise<string> {
    const used = (await docker.listNetworks()).flatMap((n) => n.IPAM?.Config ?? []).map((c) => String(c.Subnet ?? ''))
    const block = freeBlock(o.pool, used, tried)
    if (!block)
      throw new CommandError(wireError('CONFLICT', `no free /${BLOCK_BITS} in the container network pool ${o.pool}`))
    tried.add(block)
    return block
  }

  /** Creates the client's network unless it exists (ours); returns its name. */
  async function ensure(slug: string, clientId: string): Promise<string> {
    const name = nameOf(slug)
    if (await inspectOurs(name)) return name
    const tried = new Set<string>()
    for (let attempt = 1; ; attempt++) {
      const subnet = await allocate(tried)
      try {
        await docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
          Labels: { [CLIENT_LABEL]: clientId, [SERVER_LABEL]: o.serverId, 'alfa.slug': slug },
        })
        return name
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        // A create in parallel made the same network: it is ours if the labels say so.
        if (/already exists/i.test(message) && (await inspectOurs(name))) return name
        if (/overlap/i.test(message) && attempt < ALLOCATE_ATTEMPTS) continue
        throw dockerFailure(error, `creating network ${name} (${subnet})`)
      }
    }
  }

  /** Removes the client's network (ours only); false when absent or a container still uses it (a switch's -next). */
  async function remove(slug: string): Promise<boolean> {
    const name = nameOf(slug)
    const info = await inspectOurs(name)
    if (!info) return false
    try {
      await docker.getNetwork(info.Id).remove()
      return true
    } catch (error) {
      const status = (error as { statusCode?: unknown }).statusCode
      if (status === 404) return false
      // "has active endpoints": another container of this client still runs on it; it goes with the last one.
      if (status === 403 || status === 409) return false
      throw dockerFailure(error, `removing network ${name}`)
    }
  }

  return { ensure, remove, nameOf }
}

export type ClientNetworks = ReturnType<typeof createClientNetworks>
