import { LIMITS } from '@alfa/protocol'
import { dockerFailure, type CommandHandler } from '../../command-context.ts'
import { clientIdOf, containerName, containerState, SERVER_LABEL } from './labels.ts'

/** container.list: this server's containers (label alfa.server=<serverId>), running or not. */
export const containerList: CommandHandler<'container.list'> = async (_ctx, deps) => {
  let containers
  try {
    containers = await deps.docker.listContainers({
      all: true,
      filters: { label: [`${SERVER_LABEL}=${deps.serverId}`] },
    })
  } catch (error) {
    throw dockerFailure(error, 'listing containers')
  }
  return {
    containers: containers.slice(0, LIMITS.containers).map((c) => ({
      id: c.Id,
      name: containerName(c.Names, c.Id),
      image: c.Image.slice(0, 512),
      state: containerState(c.State),
      status: c.Status.slice(0, LIMITS.shortText),
      ...clientIdOf(c.Labels),
    })),
  }
}
