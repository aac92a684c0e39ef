import type { HelloFrame } from '@alfa/protocol'

/** What an agent announced in its hello: its release and the capabilities it can run. */
export type Announcement = Readonly<Pick<HelloFrame, 'agentVersion'>> & { readonly capabilities: readonly string[] }

/** Distinct announcements shared at most: a fleet runs a handful of agent releases. */
const MAX_SHARED = 256

/**
 * One copy of each distinct announcement, shared by the agents that made it. Every hello is parsed anew, so each
 * agent held its own copies of ~23 capability names: at 15,000 agents, some 345,000 strings, a sixth of the objects
 * live in the master, which every full garbage collection marks again (bench/README.md, 2026-12-04). Past
 * MAX_SHARED distinct announcements (agents built by hand), one is kept as it came, unshared.
 */
export function createAnnouncements(maxShared = MAX_SHARED) {
  const shared = new Map<string, Announcement>()
  return {
    intern(hello: Pick<HelloFrame, 'agentVersion' | 'capabilities'>): Announcement {
      // Neither a version nor a capability name can hold a newline (protocol schemas): the key is unambiguous.
      const key = `${hello.agentVersion}\n${hello.capabilities.join('\n')}`
      const known = shared.get(key)
      if (known) return known
      const own: Announcement = Object.freeze({
        agentVersion: hello.agentVersion,
        capabilities: Object.freeze([...hello.capabilities]),
      })
      if (shared.size < maxShared) shared.set(key, own)
      return own
    },
  }
}
