// image.build and image.prune on the agent with real git and real Docker: computed versions, reuse of a built
// commit, a failing Dockerfile, hostile repository settings refused before git runs, and prune's guarantees.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseMasterFrame, type ImageBuildPayload, type ImageBuildResult } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUSYBOX_IMAGE, ensureBaseImages } from '../support/docker.ts'
import { appDockerfile, createTestRepo, type TestRepo } from '../support/git-repo.ts'
import { makeTempDir } from '../support/process.ts'
import { startAgentRunner, type AgentRun } from './agent-runner.ts'

let agent: Awaited<ReturnType<typeof startAgentRunner>>
let repo: TestRepo
const imageRepo = `alfa-test/build-${randomBytes(4).toString('hex')}`

beforeAll(async () => {
  agent = await startAgentRunner()
  await ensureBaseImages(agent.docker)
  repo = await createTestRepo({ version: '2.3.0', dockerfile: appDockerfile(BUSYBOX_IMAGE) })
})
afterAll(async () => {
  const images = await agent?.docker.listImages({ filters: { reference: [imageRepo] } })
  for (const image of images ?? []) await agent.docker.getImage(image.Id).remove({ force: true })
  await repo?.remove()
  await agent?.stop()
})

const payload = (patch: Partial<ImageBuildPayload> = {}): ImageBuildPayload => ({
  repoUrl: repo.dir,
  branch: 'dev',
  channel: 'dev',
  imageRepo,
  buildFront: true,
  ...patch,
})
const built = (run: AgentRun): ImageBuildResult => {
  expect(run.result, JSON.stringify(run.result) + run.text).toMatchObject({ ok: true })
  return (run.result as { data: ImageBuildResult }).data
}
const runIn = async (ref: string, argv: string[]) => {
  const container = await agent.docker.createContainer({ Image: ref, Cmd: argv })
  try {
    await container.start()
    await container.wait()
    return (await container.logs({ stdout: true, stderr: true })).toString('utf8')
  } finally {
    await container.remove({ force: true })
  }
}

describe('image.build', () => {
  it('does compute versions with the channel suffix and a growing build number, and label the image', async () => {
    const dev = built(await agent.run('image.build', payload()))
    // dev: two commits (the first and one dev change).
    expect(dev).toMatchObject({ version: '2.3.0.2-dev', image: `${imageRepo}:2.3.0.2-dev`, reused: false })
    const master = built(await agent.run('image.build', payload({ branch: 'master', channel: 'master' })))
    expect(master).toMatchObject({ version: '2.3.0.1-master', channel: 'master', reused: false })

    const info = await agent.docker.getImage(dev.image).inspect()
    expect(info.Config.Labels).toMatchObject({
      'alfa.version': '2.3.0.2-dev',
      'alfa.channel': 'dev',
      'alfa.branch': 'dev',
      'alfa.commit': dev.commit,
    })
    // The front end was built inside the image build (ALFA_BUILD_FRONT=1), and .dockerignore kept secret.txt out.
    expect(await runIn(dev.image, ['cat', '/front.txt'])).toContain('front built for 2.3.0.2-dev')
    expect(await runIn(dev.image, ['sh', '-c', 'echo $APP_VERSION'])).toContain('2.3.0.2-dev')

    await repo.commit('dev', 'app.txt', 'second dev change\n')
    const next = built(await agent.run('image.build', payload()))
    expect(next).toMatchObject({ version: '2.3.0.3-dev', reused: false })
    expect(next.commit).not.toBe(dev.commit)
  })

  it('does stream every build line into the log as it happens', async () => {
    await repo.commit('dev', 'app.txt', 'third dev change\n')
    const run = await agent.run('image.build', payload())
    built(run)
    const buildLines = run.logs.filter((l) => l.step === 'build' && l.stream === 'stdout').map((l) => l.line)
    expect(buildLines.some((l) => /^Step 1\/\d+ : FROM /.test(l))).toBe(true)
    expect(buildLines.some((l) => l.startsWith('Successfully tagged'))).toBe(true)
  })

  it('does reuse the image of a commit built before: no new image, no new version', async () => {
    const before = await agent.docker.listImages({ filters: { reference: [imageRepo] } })
    const first = built(await agent.run('image.build', payload({ branch: 'master', channel: 'master' })))
    expect(first).toMatchObject({ version: '2.3.0.1-master', reused: true })
    const after = await agent.docker.listImages({ filters: { reference: [imageRepo] } })
    expect(after.map((i) => i.Id).sort()).toEqual(before.map((i) => i.Id).sort())
  })

  it('does fail a broken Dockerfile with the failing step and its output in the log', async () => {
    await repo.commit('master', 'Dockerfile', `FROM ${BUSYBOX_IMAGE}\nRUN echo about-to-fail && exit 3\n`)
    const run = await agent.run('image.build', payload({ branch: 'master', channel: 'master' }))
    expect(run.result).toMatchObject({ ok: false, error: { code: 'DOCKER_ERROR' } })
    if (run.result.ok) throw new Error('the broken build succeeded')
    const { message, data } = run.result.error
    expect(message).toMatch(/Step 2\/\d+ : RUN echo about-to-fail/)
    expect(message).toMatch(/returned a non-zero code: 3/)
    expect(data).toMatchObject({ output: expect.stringContaining('about-to-fail') })
    expect(run.text).toContain('about-to-fail')
    await repo.commit('master', 'Dockerfile', appDockerfile(BUSYBOX_IMAGE))
  })

  // The files a hostile value would make if git ran it: in a directory of this test's own, so nothing else on the
  // machine (a /tmp/x of someone else's) decides the outcome.
  it.each([
    ['repoUrl', (canary: string) => ({ repoUrl: `ext::sh -c touch% ${canary}` })],
    ['repoUrl', (canary: string) => ({ repoUrl: `--upload-pack=touch ${canary}` })],
    ['branch', () => ({ branch: '--orphan' })],
    ['branch', () => ({ branch: '-x' })],
    ['branch', () => ({ branch: 'a;b' })],
  ])('does refuse a hostile %s before git runs (INVALID_PAYLOAD)', async (_field, hostile) => {
    const canary = path.join(await makeTempDir('hostile-build'), 'pwned')
    const patch = hostile(canary)
    const frame = { kind: 'command', id: crypto.randomUUID(), type: 'image.build', payload: payload(patch) }
    const parsed = parseMasterFrame(JSON.stringify({ ...frame, deadlineMs: 60_000 }))
    expect(parsed).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } })
    // A frame that skipped the schema still meets the handler's own check, before any git process.
    const run = await agent.runRaw('image.build', payload(patch))
    expect(run.result).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } })
    await expect(fs.stat(canary)).rejects.toThrow()
    await fs.rm(path.dirname(canary), { recursive: true, force: true })
  })
})
