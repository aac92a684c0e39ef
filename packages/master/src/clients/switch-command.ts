import { imageTag, SWITCH_ROLLBACK_HEALTH, type DbEngine } from '@alfa/protocol'
import type { Client } from '../generated/prisma/client.ts'
import type { CommandOf } from '../operations/kind-spec.ts'
import type { ProfileResolver } from './app-profiles.ts'
import { limitsOf, settingsOf } from './command-fields.ts'

/** What a switch command is built from: the images' profiles, and what the client's agent announced. */
export interface SwitchCommandDeps {
  profiles: ProfileResolver
  announces(serverId: string, capability: string): boolean
}

/**
 * The `client.switch` of a client to `image`, as a single switch and a fleet's switch child send it: the new image's
 * profile, and the health path of the image the client runs now, on which a rollback confirms the old version (two
 * repositories may have different profiles), for agents that take it (SWITCH_ROLLBACK_HEALTH).
 */
export function switchCommand(
  deps: SwitchCommandDeps,
  c: Client,
  dbEngine: DbEngine,
  image: string,
): CommandOf<'client.switch'> {
  const rollback = deps.announces(c.serverId, SWITCH_ROLLBACK_HEALTH)
    ? { rollbackHealthPath: deps.profiles(c.image ?? '').healthPath }
    : {}
  return {
    type: 'client.switch',
    payload: {
      clientId: c.id,
      slug: c.slug,
      domain: c.domain,
      dbEngine,
      image,
      profile: deps.profiles(image),
      ...rollback,
      settings: settingsOf(c, { version: imageTag(image) }),
      ...limitsOf(c),
    },
  }
}
