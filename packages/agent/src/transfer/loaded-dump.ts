import fs from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { dbEngineSchema, wireError, type DbEngine } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'
import type { DbAdmin } from '../drivers/database.ts'
import type { RowCounts } from '../drivers/row-counts.ts'
import { freshNames, isAsideOf, loadFresh } from '../drivers/database-restore.ts'
import { download, type MasterChannel } from './master-channel.ts'
import { hashing, spoolDir } from './spool.ts'

/**
 * What a dump loaded on arrival left behind, recorded in `<spool>/<id>.load` before the load starts: the fresh
 * database it went into, and once the stream ended cleanly and the load succeeded, what arrived. Without `sha256`
 * the load did not finish (a killed agent): the database is dropped, never used.
 */
interface LoadRecord {
  /** The engine of the client's database. */
  dbEngine: DbEngine
  /** The client's database the dump is for. */
  name: string
  /** The fresh database it was loaded into (`<name>__restore_<n>`). */
  scratch: string
  /** Bytes and SHA-256 of what arrived, and the rows per table it loaded, once complete. */
  bytes?: number
  sha256?: string
  rowCounts?: RowCounts
}

const recordPath = (stateDir: string, id: string) => path.join(spoolDir(stateDir), `${id}.load`)
/** Removes the record of transfer `id`'s load (and a half-written one): its database was swapped in or dropped. */
const forgetLoad = async (stateDir: string, id: string) => {
  for (const file of [recordPath(stateDir, id), `${recordPath(stateDir, id)}.tmp`]) await fs.rm(file, { force: true })
}
const failed = (message: string) => new CommandError(wireError('TRANSFER_FAILED', message))

async function writeRecord(stateDir: string, id: string, record: LoadRecord, flag: 'wx' | 'w') {
  const file = recordPath(stateDir, id)
  const handle = await fs.open(`${file}.tmp`, flag === 'wx' ? 'wx' : 'w', 0o600)
  try {
    await handle.writeFile(JSON.stringify(record))
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(`${file}.tmp`, file)
}

async function readRecord(stateDir: string, id: string): Promise<LoadRecord | undefined> {
  const text = await fs.readFile(recordPath(stateDir, id), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (text === undefined) return undefined
  const r = JSON.parse(text) as Partial<LoadRecord>
  // Our own file in the 0700 state dir; still, only a restore database of the named one is ever dropped or used.
  const dbEngine = dbEngineSchema.safeParse(r.dbEngine)
  if (!dbEngine.success || typeof r.name !== 'string' || typeof r.scratch !== 'string' || !isAsideOf(r.name, r.scratch))
    throw failed(`the load record of transfer ${id} is not one this agent wrote`)
  const { name, scratch, sha256, rowCounts } = r
  const done = typeof sha256 === 'string' && typeof rowCounts === 'object' && rowCounts !== null
  return { dbEngine: dbEngine.data, name, scratch, ...(done ? { sha256, rowCounts } : {}) }
}

/**
 * Reads transfer `id` from the relay straight into a fresh database of `name` (loadFresh), hashing as it goes: the
 * load overlaps the sender's dump and the transfer, and no spool is written. The database is only recorded as
 * loaded (with what arrived and the rows it holds, counted once it was sealed) once the stream ended cleanly and
 * the load exited 0; anything else drops it.
 */
export async function receiveIntoDatabase(
  ch: MasterChannel,
  o: {
    stateDir: string
    db: DbAdmin
    dbEngine: DbEngine
    name: string
    now: () => number
    /** Called once loaded, before it is recorded as such (the fault tests' pause point). */
    onLoaded?: () => Promise<void>
    /** The dump arrives zstd-compressed (what is hashed is what arrived). */
    packed?: boolean
  },
  id: string,
  token: string,
  signal: AbortSignal,
): Promise<{ bytes: number; sha256: string }> {
  const { stateDir, db, dbEngine, name } = o
  await fs.mkdir(spoolDir(stateDir), { recursive: true, mode: 0o700 })
  const { scratch } = freshNames(name, o.now)
  await writeRecord(stateDir, id, { dbEngine, name, scratch }, 'wx')
  try {
    const res = await download(ch, id, token, signal)
    // A little slack between the relay and the load: one stalls the other less.
    const h = hashing(1024 * 1024)
    const carried = pipeline(res, h.stream)
    const loading = loadFresh(db, name, scratch, h.stream, signal, o.packed)
    // A load that stopped reads no more: the stream is cut so that the transfer ends (and the sender learns it).
    loading.catch(() => res.destroy())
    const [c, l] = await Promise.allSettled([carried, loading])
    if (c.status === 'rejected') {
      const why = c.reason instanceof Error ? c.reason.message : String(c.reason)
      throw failed(`transfer ${id} broke off: ${why}`)
    }
    if (l.status === 'rejected') throw l.reason
    const got = h.digest()
    await o.onLoaded?.()
    await writeRecord(stateDir, id, { dbEngine, name, scratch, ...got, rowCounts: l.value }, 'w')
    return got
  } catch (error) {
    await db.dropAside(name, scratch).catch(() => undefined)
    await forgetLoad(stateDir, id)
    throw error
  }
}

/**
 * The fresh database transfer `id` was loaded into, once what arrived is found to hash to `sha256` (what the sender
 * sent); undefined when the transfer was spooled instead. An unfinished load or a mismatch drops the database and
 * throws TRANSFER_FAILED: nothing of it is ever used.
 */
export async function checkedLoad(stateDir: string, db: DbAdmin, id: string, sha256: string) {
  const record = await readRecord(stateDir, id)
  if (!record) return undefined
  if (record.sha256 === sha256 && record.rowCounts)
    return { scratch: record.scratch, rowCounts: record.rowCounts, forget: () => forgetLoad(stateDir, id) }
  await discardLoad(stateDir, () => db, id)
  throw failed(
    record.sha256
      ? `transfer ${id} arrived other than sent (sha256 ${record.sha256}, sent ${sha256})`
      : `the load of transfer ${id} did not finish`,
  )
}

/** Drops what transfer `id` loaded on arrival (its database and record), if anything; true when there was some. */
export async function discardLoad(
  stateDir: string,
  dbFor: (engine: DbEngine) => DbAdmin,
  id: string,
): Promise<boolean> {
  const record = await readRecord(stateDir, id)
  if (!record) return false
  await dbFor(record.dbEngine).dropAside(record.name, record.scratch)
  await forgetLoad(stateDir, id)
  return true
}
