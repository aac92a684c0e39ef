import { randomBytes } from 'node:crypto'
import type { ClientSettings } from '@alfa/protocol'
import { isExpired, type ExpiryCalendar } from '../clients/expiry-calendar.ts'
import type { ProfileResolver } from '../clients/app-profiles.ts'
import { limitsOf, settingsOf } from '../clients/command-fields.ts'
import type { Client, Server } from '../generated/prisma/client.ts'
import type { CommandOf } from '../operations/kind-spec.ts'

/**
 * The create that stages a client on another server (a move's target, a copy's stage server). The owner password
 * is a throwaway: the restore that follows brings the app's users back from the source.
 */
export function stageCommand(c: Client, on: Server, profiles: ProfileResolver): CommandOf<'client.create'> {
  const image = c.image ?? ''
  return {
    type: 'client.create',
    payload: {
      clientId: c.id,
      slug: c.slug,
      domain: c.domain,
      image,
      dbEngine: on.dbEngine,
      env: {},
      ownerLogin: c.ownerLogin,
      ownerPassword: randomBytes(18).toString('base64url'),
      tls: on.tlsEnabled,
      ...limitsOf(c),
      settings: settingsOf(c, { maintenance: false }),
      profile: profiles(image),
    },
  }
}

/** The configure that sets the client's pages and cloud_settings on `on` (maintenance as given). */
export function configureCommand(
  c: Client,
  on: Server,
  settings: Partial<ClientSettings>,
  now: Date,
  calendar: ExpiryCalendar,
): CommandOf<'client.configure'> {
  return {
    type: 'client.configure',
    payload: {
      clientId: c.id,
      slug: c.slug,
      dbEngine: on.dbEngine,
      settings: settingsOf(c, settings),
      expired: isExpired(c.expireDate, now, calendar),
    },
  }
}
