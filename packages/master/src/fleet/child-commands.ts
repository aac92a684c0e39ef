import { limitsOf, settingsOf } from '../clients/command-fields.ts'
import { isExpired } from '../clients/expiry-calendar.ts'
import type { Client, Server } from '../generated/prisma/client.ts'
import type { KindContext } from '../operations/kind-context.ts'
import type { CommandOf } from '../operations/kind-spec.ts'

/** A fleet migrate child: the per-client migrate, with the profile of the image the client runs. */
export function migrateCommand(ctx: KindContext, c: Client, server: Server): CommandOf<'client.app'> {
  return {
    type: 'client.app',
    payload: { slug: c.slug, action: 'migrate', profile: ctx.profiles(c.image ?? ''), dbEngine: server.dbEngine },
  }
}

/** A deploy child: the client's whole configuration as the master's record says it should be. */
export function deployCommand(ctx: KindContext, c: Client, server: Server): CommandOf<'client.deploy'> {
  const image = c.image ?? ''
  return {
    type: 'client.deploy',
    payload: {
      clientId: c.id,
      slug: c.slug,
      domain: c.domain,
      image,
      dbEngine: server.dbEngine,
      profile: ctx.profiles(image),
      settings: settingsOf(c),
      expired: isExpired(c.expireDate, ctx.clock.now(), ctx.calendar),
      tls: server.tlsEnabled,
      ...limitsOf(c),
    },
  }
}
