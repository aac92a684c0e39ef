import { containerNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure, type CommandHandler } from '../../command-context.ts'
import { containerState, SERVER_LABEL } from './labels.ts'

/** Seconds Docker waits for the app to stop before killing it. */
const STOP_TIMEOUT_S = 10

/** container.restart: restarts `alfa-<slug>`, but only a container this server owns (label alfa.server). */
export const containerRestart: CommandHandler<'container.restart'> = async (ctx, deps) => {
  const name = containerNameForSlug(ctx.payload.slug)
  const container = deps.docker.getContainer(name)
  try {
    const before = await container.inspect()
    if (before.Config.Labels?.[SERVER_LABEL] !== deps.serverId) {
      // A same-named container of another server (or of nobody) sharing this engine is not ours to touch.
      throw new CommandError(wireError('NOT_FOUND', `container ${name} does not belong to this server`))
    }
    ctx.log(`restarting ${name}`, { stream: 'info' })
    await container.restart({ t: STOP_TIMEOUT_S })
    const after = await container.inspect()
    return { id: after.Id, state: containerState(after.State.Status) }
  } catch (error) {
    if (error instanceof CommandError) throw error
    throw dockerFailure(error, `restarting ${name}`)
  }
}
