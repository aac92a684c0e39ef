import { dbEngineSchema, type DbEngine } from '@alfa/protocol'
import { dumpFileName, stamp } from '../commands/client/snapshot.ts'

/**
 * The names of the files a move writes into the backup dir (its transfer.send, and the final dump of its cleanup's
 * client.delete), made here only: a dump `<slug>-move-<stamp>` with its engine's extension (`.zst` added when sent
 * compressed), or the files archive `<slug>-move-<stamp>.files.tar`. The pattern that recovery checks a journaled
 * name against is built from the same functions, so a new extension cannot be written without recovery knowing it
 * (PostgreSQL's `.dump` once was).
 */
export const moveDumpName = (slug: string, engine: DbEngine, ms: number, packed: boolean): string =>
  `${dumpFileName(`${slug}-move-${stamp(ms)}`, engine)}${packed ? '.zst' : ''}`

/** A MariaDB dump sent as its tables' InnoDB files (database-mariadb-tablespaces.ts): a compressed tar. */
export const moveTablespacesName = (slug: string, ms: number): string => `${slug}-move-${stamp(ms)}.ibd.tar.zst`

export const moveArchiveName = (slug: string, ms: number): string => `${slug}-move-${stamp(ms)}.files.tar`

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Every ending the two functions above can give a name, for every engine, compressed or not. */
const ENDINGS = [
  ...dbEngineSchema.options.flatMap((engine) =>
    [false, true].map((packed) => moveDumpName('', engine, 0, packed).slice(`-move-${stamp(0)}`.length)),
  ),
  moveArchiveName('', 0).slice(`-move-${stamp(0)}`.length),
  moveTablespacesName('', 0).slice(`-move-${stamp(0)}`.length),
]

/** A name this agent's sends make (a slug, `-move-`, a stamp, one of their endings), and nothing else. */
export const MOVE_FILE_NAME = new RegExp(
  `^[a-z0-9][a-z0-9-]*-move-[0-9A-Za-z-]+(?:${[...new Set(ENDINGS)].map(escape).join('|')})$`,
)
