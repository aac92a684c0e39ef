import { dbNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, type CommandHandler } from '../../command-context.ts'
import { dbAdminFor } from '../../drivers/database.ts'
import { discardLoad, receiveIntoDatabase } from '../../transfer/loaded-dump.ts'
import { discardSpool, receiveIntoSpool } from '../../transfer/spool.ts'
import { channelOf } from './send.ts'

/**
 * transfer.receive: reads the transfer from the relay into the spool; what it got is checked before any use. A dump
 * sent with `load` goes straight into a fresh database of the client instead, where the engine can load a stream
 * (client.restore swaps it in once checked).
 */
export const transferReceive: CommandHandler<'transfer.receive'> = async (ctx, deps) => {
  const { transferId, token, load } = ctx.payload
  const db = load ? dbAdminFor(load.dbEngine, deps) : undefined
  // A compressed dump is only ever loaded on arrival: spooled, nothing would unpack it before its restore.
  if (load?.compressed && !db?.loadStreamInto)
    throw new CommandError(wireError('UNSUPPORTED', `a ${load.dbEngine} dump is not received compressed by this agent`))
  if (load && db?.loadStreamInto) {
    const name = dbNameForSlug(load.slug)
    // The fault tests' pause points: before a byte is read, and once loaded (not yet recorded as such).
    await ctx.checkpoint({ step: 'load' })
    const onLoaded = () => ctx.checkpoint({ step: 'loaded' })
    const packed = load.compressed === 'zstd'
    const o = { stateDir: deps.config.stateDir, db, dbEngine: load.dbEngine, name, now: deps.now, onLoaded, packed }
    const got = await receiveIntoDatabase(channelOf(deps), o, transferId, token, ctx.signal)
    const how = packed ? ' compressed, unpacked by zstd' : ''
    ctx.log(`received ${got.bytes} bytes${how} (sha256 ${got.sha256}) into a fresh database of ${name}`)
    return { ...got, loaded: true }
  }
  const got = await receiveIntoSpool(channelOf(deps), deps.config.stateDir, transferId, token, ctx.signal)
  ctx.log(`received ${got.bytes} bytes (sha256 ${got.sha256})`)
  return got
}

/** transfer.discard: removes a transfer's spool, or the database it was loaded into (a failed or abandoned move). */
export const transferDiscard: CommandHandler<'transfer.discard'> = async (ctx, deps) => {
  const { stateDir } = deps.config
  const spooled = await discardSpool(stateDir, ctx.payload.transferId)
  const loaded = await discardLoad(stateDir, (engine) => dbAdminFor(engine, deps), ctx.payload.transferId)
  return { removed: spooled || loaded }
}
