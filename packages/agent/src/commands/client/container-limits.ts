import type Dockerode from 'dockerode'
import { wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../../command-context.ts'

/** Limits as the container gets them: bytes of memory (swap counted in it, as at create) and nano-CPUs. */
function dockerLimits(limits: { memoryMb: number; cpus: number }) {
  const memory = limits.memoryMb * 1024 * 1024
  return { Memory: memory, MemorySwap: memory, NanoCpus: Math.round(limits.cpus * 1e9) }
}

/**
 * Applies memory and CPU limits to a running container in place (docker update: no restart, the app keeps serving),
 * then reads them back: the step fails unless the container has exactly what was asked. A memory limit below what
 * the app uses makes the kernel reclaim and, failing that, kill it; Docker's restart policy then starts it again.
 */
export async function applyContainerLimits(
  docker: Dockerode,
  containerId: string,
  limits: { memoryMb: number; cpus: number },
): Promise<void> {
  const wanted = dockerLimits(limits)
  const container = docker.getContainer(containerId)
  try {
    await container.update(wanted)
  } catch (error) {
    throw dockerFailure(error, `updating the limits of ${containerId.slice(0, 12)}`)
  }
  const host = (
    await container.inspect().catch((error: unknown) => {
      throw dockerFailure(error, `inspecting ${containerId.slice(0, 12)}`)
    })
  ).HostConfig
  if (host.Memory !== wanted.Memory || host.MemorySwap !== wanted.MemorySwap || host.NanoCpus !== wanted.NanoCpus) {
    throw new CommandError(
      wireError(
        'DOCKER_ERROR',
        `the container has memory ${host.Memory} / swap ${host.MemorySwap} / nano-CPUs ${host.NanoCpus} after the ` +
          `update, not ${wanted.Memory} / ${wanted.MemorySwap} / ${wanted.NanoCpus}`,
      ),
    )
  }
}
