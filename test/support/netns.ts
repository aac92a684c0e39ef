// A network namespace joined to the host by a veth pair, for partition tests: a process started inside it (`ip netns
// exec`) reaches the host only over the pair, so taking the host end down cuts it off exactly like a broken link
// (no FIN, no RST: both sides must notice the silence themselves). Needs root and iproute2.
import { randomBytes } from 'node:crypto'
import { runCommand } from './process.ts'

export interface VethNamespace {
  /** The namespace's name, for `ip netns exec`. */
  name: string
  /** The host end's address (listen here so the namespace can reach you) and the namespace end's address. */
  hostAddress: string
  nsAddress: string
  /** Cuts the link (the host end goes down: the namespace end loses its carrier). */
  cut(): Promise<void>
  /** Restores the link. */
  restore(): Promise<void>
  /** Deletes the namespace and both ends of the pair; safe to call twice and after a partial setup. */
  remove(): Promise<void>
}

const ip = (...args: string[]) => runCommand('ip', args, { timeoutMs: 10_000 })

export async function createVethNamespace(): Promise<VethNamespace> {
  // Interface names are limited to 15 characters; a random suffix and subnet keep parallel runs apart.
  const tag = randomBytes(3).toString('hex')
  const name = `alfa-p-${tag}`
  const hostIf = `ap${tag}h`
  const nsIf = `ap${tag}n`
  const octet = 16 + (parseInt(tag, 16) % 200)
  const hostAddress = `10.213.${octet}.1`
  const nsAddress = `10.213.${octet}.2`
  const remove = async () => {
    // Deleting the namespace destroys its end of the pair, which destroys the host end with it; the explicit delete
    // covers a setup that failed before the namespace end was moved in.
    await ip('netns', 'del', name).catch(() => undefined)
    await ip('link', 'del', hostIf).catch(() => undefined)
  }
  try {
    await ip('netns', 'add', name)
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf)
    await ip('link', 'set', nsIf, 'netns', name)
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf)
    await ip('link', 'set', hostIf, 'up')
    await ip('-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf)
    await ip('-n', name, 'link', 'set', nsIf, 'up')
    await ip('-n', name, 'link', 'set', 'lo', 'up')
  } catch (error) {
    await remove()
    throw error
  }
  return {
    name,
    hostAddress,
    nsAddress,
    cut: async () => void (await ip('link', 'set', hostIf, 'down')),
    restore: async () => void (await ip('link', 'set', hostIf, 'up')),
    remove,
  }
}
