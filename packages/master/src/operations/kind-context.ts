import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { Sql } from '../db/sql.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { Begin } from './operation-begin.ts'

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
}
