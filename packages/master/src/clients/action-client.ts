import type { Sql } from '../db/sql.ts'
import type { Client, Server } from '../generated/prisma/client.ts'

/** A client as an action reads it: its whole row, and of its server what the commands carry. */
export type ActionClient = Client & { server: Pick<Server, 'dbEngine'> | null }

/**
 * Every column of Client: keyed by the model's fields, so a field added to the schema fails the type check here until
 * it is read too. The date column is read as a timestamp, which db/sql.ts parses as UTC midnight, as Prisma does.
 */
const CLIENT_COLUMNS = {
  id: 'c.id',
  slug: 'c.slug',
  name: 'c.name',
  domain: 'c.domain',
  serverId: 'c."serverId"',
  status: 'c.status::text',
  image: 'c.image',
  version: 'c.version',
  ownerLogin: 'c."ownerLogin"',
  ownerEmail: 'c."ownerEmail"',
  ownerPasswordEnc: 'c."ownerPasswordEnc"',
  contactEmail: 'c."contactEmail"',
  language: 'c.language',
  expireDate: 'c."expireDate"::timestamp',
  maintenance: 'c.maintenance',
  expiryBlocked: 'c."expiryBlocked"',
  settingsPending: 'c."settingsPending"',
  demo: 'c.demo',
  turbostart: 'c.turbostart',
  tutorial: 'c.tutorial',
  memoryLimitMb: 'c."memoryLimitMb"',
  cpuLimit: 'c."cpuLimit"',
  available: 'c.available',
  availableCheckedAt: 'c."availableCheckedAt"',
  usersCount: 'c."usersCount"',
  usersCountAt: 'c."usersCountAt"',
  deletedAt: 'c."deletedAt"',
  copiedFromId: 'c."copiedFromId"',
  remindersEnabled: 'c."remindersEnabled"',
  createdAt: 'c."createdAt"',
  updatedAt: 'c."updatedAt"',
} satisfies Record<keyof Client, string>

const SELECT_ACTION_CLIENT = `SELECT ${Object.entries(CLIENT_COLUMNS)
  .map(([field, column]) => `${column} AS "${field}"`)
  .join(', ')}, s."dbEngine"::text AS "serverDbEngine"
  FROM "Client" c LEFT JOIN "Server" s ON s.id = c."serverId"
 WHERE c.id = $1::uuid`

/**
 * The client an action starts on, with its server's engine: one statement straight through the driver (the ORM's
 * findUnique with its server costs a few milliseconds of every action's answer). Undefined when there is no such row.
 */
export async function readActionClient(sql: Pick<Sql, 'query'>, id: string): Promise<ActionClient | undefined> {
  const rows = await sql.query<Client & { serverDbEngine: Server['dbEngine'] | null }>(
    SELECT_ACTION_CLIENT,
    [id],
    'action-client',
  )
  const row = rows[0]
  if (!row) return undefined
  const { serverDbEngine, ...client } = row
  return { ...client, server: serverDbEngine === null ? null : { dbEngine: serverDbEngine } }
}
