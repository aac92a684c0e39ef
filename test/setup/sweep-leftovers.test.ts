// The sweep at the start of a run, on real Docker: what a killed run's test agent made goes; a container of the same
// shape made from an image the tests do not own stays.
import { randomUUID } from 'node:crypto'
import Docker from 'dockerode'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { BUSYBOX_IMAGE, ensureBaseImages, removeContainersByLabel, removeNetworksByLabel } from '../support/docker.ts'
import { sweepLeftovers } from './sweep-leftovers.ts'

const docker = new Docker()
const run = randomUUID().slice(0, 8)
// Only this file's objects carry it: the sweep must not touch the test files running beside this one.
const marker = `alfa.test.sweep=${run}`
const [markerKey, markerValue] = marker.split('=') as [string, string]
const keptImage = { repo: `alfa-sweep-${run}/kept`, tag: '1' }

beforeAll(async () => {
  await ensureBaseImages(docker)
  await docker.getImage(BUSYBOX_IMAGE).tag(keptImage)
})
afterAll(async () => {
  await removeContainersByLabel(marker, docker)
  await removeNetworksByLabel(marker, docker)
  await docker
    .getImage(`${keptImage.repo}:${keptImage.tag}`)
    .remove()
    .catch(() => undefined)
})

async function leftover(server: string, image: string, name: string) {
  const labels = { 'alfa.server': server, [markerKey]: markerValue }
  await docker.createNetwork({ Name: name, Labels: labels })
  const container = await docker.createContainer({
    name,
    Image: image,
    Cmd: ['sleep', '600'],
    Labels: labels,
    HostConfig: { NetworkMode: name, RestartPolicy: { Name: 'unless-stopped' } },
  })
  await container.start()
}

const remaining = async (kind: 'containers' | 'networks') => {
  const filters = { label: [marker] }
  const found =
    kind === 'containers'
      ? (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0]!.slice(1))
      : (await docker.listNetworks({ filters })).map((n) => n.Name)
  return found.sort()
}

it("removes a killed run's test containers and networks; keeps a container made from another image", async () => {
  const testServer = randomUUID()
  const otherServer = randomUUID()
  await leftover(testServer, BUSYBOX_IMAGE, `alfa-sweep-test-${run}`)
  await leftover(otherServer, `${keptImage.repo}:${keptImage.tag}`, `alfa-sweep-kept-${run}`)

  expect(await sweepLeftovers(docker, [marker])).toEqual([testServer])

  expect(await remaining('containers')).toEqual([`alfa-sweep-kept-${run}`])
  expect(await remaining('networks')).toEqual([`alfa-sweep-kept-${run}`])
})
