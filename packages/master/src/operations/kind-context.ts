import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { Sql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { Begin } from './operation-begin.ts'
import type { ProfileResolver } from '../clients/app-profiles.ts'
import type { ExpiryCalendar } from '../clients/expiry-calendar.ts'

/** What the handlers of the operation kinds may use: the record, and `begin` for the children of a parent. */
export interface KindContext {
  prisma: PrismaClient
  sql: Sql
  clock: Clock
  logger: Logger
  secretBox: SecretBox
  /** Refreshes a client's availability and users count (after a create). */
  refreshClient(clientId: string): void
  begin: Begin
  /** How to operate the app in each image, and the customers' calendar: what a fleet child's command is built from. */
  profiles: ProfileResolver
  calendar: ExpiryCalendar
  /** Whether a server's agent announced a capability (a payload field it takes) in its hello. */
  announces(serverId: string, capability: string): boolean
}
