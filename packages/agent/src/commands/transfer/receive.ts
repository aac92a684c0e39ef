import type { CommandHandler } from '../../command-context.ts'
import { discardSpool, receiveIntoSpool } from '../../transfer/spool.ts'
import { channelOf } from './send.ts'

/** transfer.receive: reads the transfer from the relay into the spool; what it got is checked before any use. */
export const transferReceive: CommandHandler<'transfer.receive'> = async (ctx, deps) => {
  const { transferId, token } = ctx.payload
  const got = await receiveIntoSpool(channelOf(deps), deps.config.stateDir, transferId, token, ctx.signal)
  ctx.log(`received ${got.bytes} bytes (sha256 ${got.sha256})`)
  return got
}

/** transfer.discard: removes a transfer's spool (a failed or abandoned move). */
export const transferDiscard: CommandHandler<'transfer.discard'> = async (ctx, deps) => ({
  removed: await discardSpool(deps.config.stateDir, ctx.payload.transferId),
})
