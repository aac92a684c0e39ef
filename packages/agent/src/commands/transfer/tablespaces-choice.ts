import type { CommandType } from '@alfa/protocol'
import type { CommandContext } from '../../command-context.ts'
import type { DbAdmin } from '../../drivers/database.ts'

/**
 * Whether a move's dump of `dbName` crosses as its tables' InnoDB files (asked for by the master when both servers
 * can): only when every table allows it and their export lock is taken; the lock is then held (release it once
 * sent). Otherwise undefined, the dump is SQL, and the log says why.
 */
export async function tablespacesChoice(
  db: DbAdmin,
  dbName: string,
  ctx: Pick<CommandContext<CommandType>, 'log' | 'signal'>,
) {
  const files = db.tablespaces
  if (!files) return undefined
  const asSql = (why: string) => {
    ctx.log(`the dump crosses as SQL, not as tablespace files: ${why}`)
    return undefined
  }
  const can = await files.exportable(dbName)
  if ('why' in can) return asSql(can.why)
  try {
    return { tables: can.tables, locked: await files.exportLocked(dbName, can.tables, ctx.signal) }
  } catch (error) {
    return asSql(`the export lock was not taken (${error instanceof Error ? error.message : String(error)})`)
  }
}
