// What an earlier integration run left in Docker when it was killed before its teardown (Ctrl-C, a stopped job):
// the containers of its test agents keep running (restart policy) and keep their names, so the next run's client
// `alfa-gr-42` meets "exists but does not belong to this server". One run per Docker engine at a time, as the tests'
// fixed slugs already require: global.ts takes the machine's run lock (run-lock.ts) before it sweeps.
import type Docker from 'dockerode'
import { SERVER_LABEL } from '../../packages/agent/src/commands/container/labels.ts'
import { removeServerContainers } from '../support/server-services.ts'

/** Images only the tests build (test/fixtures/app, the base images): no real or demo client runs from them. */
const TEST_IMAGE_PREFIX = 'alfa-test/'

/**
 * Removes the containers, networks and volumes of every server that has a container made from a test image; returns
 * the server ids swept. A server's own objects go together, so its network can go once its containers have.
 * `alsoLabelled` narrows the search (its test sweeps only what it made, while other files' tests run beside it).
 */
export async function sweepLeftovers(docker: Docker, alsoLabelled: readonly string[] = []): Promise<string[]> {
  const label = [SERVER_LABEL, ...alsoLabelled]
  const containers = await docker.listContainers({ all: true, filters: { label } })
  const servers = new Set<string>()
  for (const c of containers) {
    // The inspect's Config.Image is the name the container was created from (the listing shows an id once that tag
    // has moved to a rebuilt image). One gone since the listing leaves nothing to sweep, and the run must still start.
    const info = await docker
      .getContainer(c.Id)
      .inspect()
      .catch(() => undefined)
    if (info?.Config.Image.startsWith(TEST_IMAGE_PREFIX)) servers.add(c.Labels[SERVER_LABEL]!)
  }
  await removeServerContainers([...servers], docker)
  return [...servers]
}
