// image.prune on the agent with real Docker: images in use (running, stopped, a switch's -next) and the newest of
// each channel stay; a dry run removes nothing; a container the agent creates while prune runs keeps its image.
import { randomBytes } from 'node:crypto'
import type Docker from 'dockerode'
import type { ImagePruneResult } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUSYBOX_IMAGE, ensureBaseImages, followDockerStream, removeContainersByLabel } from '../support/docker.ts'
import { makeTempDir } from '../support/process.ts'
import { startAgentRunner, type AgentRun } from './agent-runner.ts'
import fs from 'node:fs/promises'
import path from 'node:path'

let agent: Awaited<ReturnType<typeof startAgentRunner>>
let contextDir: string
const run = randomBytes(4).toString('hex')
const imageRepo = `alfa-test/prune-${run}`
const marker = `alfa.test.prune=${run}`

/** Tags `<repo>:1.0.0.<n>-<channel>` with our build labels (distinct ids: the labels differ). */
async function makeImage(docker: Docker, n: number, channel: 'dev' | 'master'): Promise<string> {
  const version = `1.0.0.${n}-${channel}`
  const stream = await docker.buildImage(
    { context: contextDir, src: ['Dockerfile'] },
    {
      t: `${imageRepo}:${version}`,
      labels: { 'alfa.version': version, 'alfa.channel': channel, 'alfa.commit': n.toString(16).padStart(40, '0') },
    },
  )
  await followDockerStream(docker, stream)
  return `${imageRepo}:${version}`
}

async function container(ref: string, name: string, start: boolean) {
  const c = await agent.docker.createContainer({
    Image: ref,
    name: `${name}-${run}`,
    Cmd: ['sleep', '300'],
    Labels: { 'alfa.test.prune': run },
  })
  if (start) await c.start()
  return c
}

const refsIn = async () =>
  (await agent.docker.listImages({ filters: { reference: [imageRepo] } })).flatMap((i) => i.RepoTags ?? []).sort()
const pruned = (r: AgentRun): ImagePruneResult => {
  expect(r.result, r.text).toMatchObject({ ok: true })
  return (r.result as { data: ImagePruneResult }).data
}

beforeAll(async () => {
  agent = await startAgentRunner()
  await ensureBaseImages(agent.docker)
  contextDir = await makeTempDir('prune-context')
  await fs.writeFile(path.join(contextDir, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\n`)
})
afterAll(async () => {
  await removeContainersByLabel(marker, agent.docker)
  const images = await agent.docker.listImages({ filters: { reference: [imageRepo] } })
  for (const image of images) await agent.docker.getImage(image.Id).remove({ force: true })
  await fs.rm(contextDir, { recursive: true, force: true })
  await agent?.stop()
})

describe('image.prune', () => {
  it('does spare images in use and the newest per channel, and a dry run removes nothing', async () => {
    const dev = [] as string[]
    for (const n of [1, 2, 3, 4]) dev.push(await makeImage(agent.docker, n, 'dev'))
    const master = [await makeImage(agent.docker, 1, 'master'), await makeImage(agent.docker, 2, 'master')]
    await container(dev[0]!, 'alfa-pruned-lab-next', false) // a switch's -next, created, never started
    const stopped = await container(dev[1]!, 'alfa-pruned-lab', true)
    await stopped.stop({ t: 0 })
    const before = await refsIn()
    const payload = { imageRepo, keepPerChannel: 1, inUse: [master[0]!], dryRun: true }

    const dry = pruned(await agent.run('image.prune', payload))
    expect(dry.removed.map((r) => r.ref)).toEqual([dev[2]])
    expect(dry.freedBytes).toBeGreaterThan(0)
    expect(await refsIn()).toEqual(before)

    const real = pruned(await agent.run('image.prune', { ...payload, dryRun: false }))
    expect(real.removed.map((r) => r.ref)).toEqual([dev[2]])
    expect(real.keptNewest.sort()).toEqual([dev[3], master[1]].sort())
    expect(real.keptInUse.sort()).toEqual([dev[0], dev[1], master[0]].sort())
    expect(await refsIn()).toEqual(before.filter((ref) => ref !== dev[2]))
  })

  it('does keep the image of a container the agent creates while prune runs', async () => {
    await removeContainersByLabel(marker, agent.docker)
    const refs = [] as string[]
    for (let n = 10; n < 22; n++) refs.push(await makeImage(agent.docker, n, 'dev'))
    const old = refs.slice(0, -1)
    const pruning = agent.run('image.prune', { imageRepo, keepPerChannel: 1, inUse: [], dryRun: false })
    // Creates from every old image, spread over the prune (one every 15 ms), each through the agent's image gate as
    // its container driver does: each is either made before its image is checked (and keeps it) or finds it gone
    // and fails cleanly; never a container whose image was removed under it (Docker alone allows that: CI saw it).
    const created = await Promise.allSettled(
      old.map(async (image, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 15))
        return agent.imageGate.creating(() =>
          agent.docker.createContainer({
            Image: image,
            name: `alfa-race-${i}-${run}`,
            Cmd: ['sleep', '300'],
            Labels: { 'alfa.test.prune': run },
          }),
        )
      }),
    )
    const result = pruned(await pruning)
    const live = await agent.docker.listContainers({ all: true, filters: { label: [marker] } })
    for (const c of live) {
      await expect(agent.docker.getImage(c.ImageID).inspect()).resolves.toBeTruthy()
      expect(result.removed.map((r) => r.ref)).not.toContain(c.Image)
    }
    expect(live.length).toBe(created.filter((c) => c.status === 'fulfilled').length)
    console.info(`race: ${live.length} of ${old.length} containers created, ${result.removed.length} images removed`)
  })
})
