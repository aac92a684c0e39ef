import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import { wireError } from '@alfa/protocol'
import { CommandError, dockerFailure, type CommandHandler } from '../../command-context.ts'
import { checkedSpool } from '../../transfer/spool.ts'

/**
 * image.load: `docker load` of a received image archive, once its bytes hash to what the sender sent; the image
 * must be there afterwards under the name the move needs.
 */
export const imageLoad: CommandHandler<'image.load'> = async (ctx, deps) => {
  const p = ctx.payload
  const { file, bytes } = await checkedSpool(deps.config.stateDir, p.transferId, p.sha256, ctx.signal)
  try {
    const output = await deps.docker.loadImage(createReadStream(file), { quiet: true })
    // Docker reports load errors inside the stream: read it to its end so a failure is seen.
    await new Promise<void>((resolve, reject) => {
      deps.docker.modem.followProgress(output, (error: Error | null) => (error ? reject(error) : resolve()))
    })
  } catch (error) {
    throw dockerFailure(error, `loading ${p.image} (${bytes} bytes)`)
  } finally {
    await fs.rm(file, { force: true })
  }
  await deps.docker
    .getImage(p.image)
    .inspect()
    .catch(() => {
      throw new CommandError(wireError('NOT_FOUND', `the loaded archive does not hold ${p.image}`))
    })
  ctx.log(`${p.image} loaded (${bytes} bytes)`)
  return { image: p.image }
}
