import type { CommandType, ImageSummary } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestOutcome } from '../../packages/master/src/agent-hub/agent-requests.ts'
import { createDefaultImage } from '../../packages/master/src/clients/default-image.ts'
import { Conflict, Invalid } from '../../packages/master/src/errors.ts'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

const image = (tag: string, labels: Record<string, string>): ImageSummary => ({
  ref: tag,
  id: `sha256:${'a'.repeat(64)}`,
  tags: [tag],
  sizeBytes: 1000,
  createdAt: Date.parse('2026-11-01T00:00:00Z'),
  labels,
})

/** The image a create without `image` gets, on a real database, with an agent that answers image.list as told. */
describe('default image of a create', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(async () => {
    await t?.close()
  })

  const withAgent = (answer: RequestOutcome<'image.list'>) => {
    const asked: CommandType[] = []
    const pick = createDefaultImage({
      prisma: t.db.prisma,
      sql: t.db.sql,
      hub: {
        // A stand-in agent that only knows image.list: every other type would be a bug in the code under test.
        request: async <T extends CommandType>(_serverId: string, type: T) => {
          asked.push(type)
          if (type !== 'image.list') throw new Error(`unexpected request ${type}`)
          return answer as RequestOutcome<T>
        },
      },
    })
    return { pick, asked }
  }
  const newServer = async (name: string) =>
    (await t.api('POST', '/servers', serverDoc({ name }))).json.data.id as string

  it('asks the agent once, records its images, and picks the highest production version', async () => {
    const serverId = await newServer('di-one')
    const { pick, asked } = withAgent({
      ok: true,
      data: {
        images: [
          image('alfa/mol:1.9.0-master', { 'alfa.version': '1.9.0', 'alfa.channel': 'master' }),
          image('alfa/mol:1.10.0-master', { 'alfa.version': '1.10.0', 'alfa.channel': 'master' }),
          image('alfa/mol:2.0.0-dev', { 'alfa.version': '2.0.0', 'alfa.channel': 'dev' }),
          image('alfa-test/app:9.0.0', { 'alfa.version': '9.0.0', 'alfa.channel': 'test' }),
        ],
      },
    })
    expect(await pick(serverId)).toBe('alfa/mol:1.10.0-master')
    expect(await t.db.prisma.image.count({ where: { serverId } })).toBe(4)
    // Recorded: the next create does not ask again.
    expect(await pick(serverId)).toBe('alfa/mol:1.10.0-master')
    expect(asked).toEqual(['image.list'])
  })

  it('refuses with 422 on image when the server has no production image', async () => {
    const serverId = await newServer('di-two')
    const { pick } = withAgent({
      ok: true,
      data: { images: [image('alfa/mol:2.0.0-dev', { 'alfa.version': '2.0.0', 'alfa.channel': 'dev' })] },
    })
    const error = await pick(serverId).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Invalid)
    expect((error as Invalid).issues).toEqual([
      expect.objectContaining({ pointer: '/data/attributes/image', code: 'no_default_image' }),
    ])
  })

  it("fails with the agent's message when the images cannot be listed", async () => {
    const serverId = await newServer('di-three')
    const { pick } = withAgent({ ok: false, error: { code: 'DOCKER_ERROR', message: 'docker is down' } })
    const error = await pick(serverId).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Conflict)
    expect((error as Conflict).message).toContain('docker is down')
  })
})
