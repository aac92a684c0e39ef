import { randomUUID } from 'node:crypto'
import type { ClientCreatePayload } from '@alfa/protocol'
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
