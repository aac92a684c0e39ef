/**
 * Orders container creation against image removal on this agent's Docker engine.
 *
 * Docker resolves a create's image before it registers the container, and an image removal checks only registered
 * containers: a prune that removes an image in that gap leaves a container whose image is gone (seen in CI). Every
 * container the agent creates holds the gate shared while Docker creates it; prune holds it exclusively while it
 * checks an image's use and removes it. Both sections are short (one Docker call or two), so neither waits long.
 */
export function createImageGate() {
  interface Waiter {
    exclusive: boolean
    grant: () => void
  }
  const queue: Waiter[] = []
  let creating = 0
  let removing = false

  /** Grants waiters in arrival order: any number of creates together, a removal alone. */
  function pump(): void {
    while (queue.length > 0) {
      const next = queue[0] as Waiter
      if (removing) return
      if (next.exclusive) {
        if (creating > 0) return
        queue.shift()
        removing = true
        next.grant()
        return
      }
      queue.shift()
      creating++
      next.grant()
    }
  }

  async function hold<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((grant) => {
      queue.push({ exclusive, grant })
      pump()
    })
    try {
      return await fn()
    } finally {
      if (exclusive) removing = false
      else creating--
      pump()
    }
  }

  return {
    /** Runs a container creation; waits while an image is being checked and removed. */
    creating: <T>(fn: () => Promise<T>) => hold(false, fn),
    /** Runs an image's use check and removal alone: no container is being created meanwhile. */
    removing: <T>(fn: () => Promise<T>) => hold(true, fn),
  }
}

export type ImageGate = ReturnType<typeof createImageGate>
