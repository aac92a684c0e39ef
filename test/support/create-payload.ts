import { randomUUID } from 'node:crypto'
import type { ClientCreatePayload, ClientSwitchPayload } from '@alfa/protocol'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'

/** A `client.create` payload for a fixture client `<slug>.clients.test` on MariaDB, with a fresh id and password. */
export function clientCreatePayload(
  slug: string,
  image: string,
  patch: Partial<ClientCreatePayload> = {},
): ClientCreatePayload {
  return {
    clientId: randomUUID(),
    slug,
    domain: `${slug}.clients.test`,
    image,
    dbEngine: 'mariadb',
    env: {},
    ownerLogin: 'owner@lab',
    ownerPassword: `Owner-${randomUUID()}`,
    tls: false,
    settings: { maintenance: false, expireDate: '2031-12-31', turbostart: true, tutorial: false, version: null },
    profile: FIXTURE_PROFILE,
    ...patch,
  }
}

/** The `client.switch` payload that moves a client made from `created` to `image`, keeping its settings. */
export function clientSwitchPayload(created: ClientCreatePayload, image: string): ClientSwitchPayload {
  return {
    clientId: created.clientId,
    slug: created.slug,
    domain: created.domain,
    dbEngine: created.dbEngine,
    image,
    profile: created.profile ?? FIXTURE_PROFILE,
    settings: { ...created.settings, version: null },
  }
}
