import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type Dockerode from 'dockerode'
import { describe, expect, it } from 'vitest'
import type { ClientRestoreFilesPayload } from '@alfa/protocol'
import { CommandError, type CommandContext, type HandlerDeps } from '../../command-context.ts'
import { loadAgentConfig } from '../../config.ts'
import { createClientFiles } from '../../drivers/client-files.ts'
import { createImageGate } from '../../drivers/image-gate.ts'
import { exec } from '../../exec.ts'
import { silentLogger, tarOf, useTempDir, type TarEntryHeader } from '../../test-helpers.ts'
import { spoolDir } from '../../transfer/spool.ts'
import { clientRestoreFiles } from './restore-files.ts'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A Docker that must never be reached: every refusal below happens before anything is written. */
function untouchableDocker() {
  const used: string[] = []
  const docker = new Proxy({} as Dockerode, {
    get: (_target, name) => () => {
      used.push(String(name))
      throw new Error(`Docker was reached (${String(name)})`)
    },
  })
  return { docker, used }
}

describe('client.restore_files', () => {
  const dir = useTempDir('restore-files')

  /** Spools `tar` as a received transfer and runs the handler with `patch` over a payload true to it. */
  async function run(tar: Buffer, patch: Partial<ClientRestoreFilesPayload> = {}) {
    const stateDir = dir()
    const transferId = randomUUID()
    await fs.mkdir(spoolDir(stateDir), { recursive: true })
    const spool = path.join(spoolDir(stateDir), `${transferId}.bin`)
    await fs.writeFile(spool, tar)
    const { docker, used } = untouchableDocker()
    const deps: HandlerDeps = {
      docker,
      exec,
      config: loadAgentConfig({ ALFA_AGENT_STATE_DIR: stateDir }),
      serverId: randomUUID(),
      now: Date.now,
      imageGate: createImageGate(),
    }
    const payload: ClientRestoreFilesPayload = {
      clientId: randomUUID(),
      slug: 'lab-one',
      transferId,
      sha256: sha(tar),
      dataPaths: ['storage/app'],
      expected: { entries: 0, files: 0, fileBytes: 0 },
      ...patch,
    }
    const lines: string[] = []
    const ctx = {
      id: randomUUID(),
      type: 'client.restore_files',
      payload,
      signal: AbortSignal.timeout(10_000),
      log: (line: string) => void lines.push(line),
      progress: () => undefined,
      logger: silentLogger,
      checkpoint: async () => undefined,
    } satisfies CommandContext<'client.restore_files'>
    const outcome = await clientRestoreFiles(ctx, deps).then(
      (data) => ({ data, error: undefined }),
      (error: unknown) => ({ data: undefined, error: error instanceof CommandError ? error.wire : error }),
    )
    const spoolLeft = await fs.stat(spool).then(
      () => true,
      () => false,
    )
    return { ...outcome, used, lines, spoolLeft }
  }

  it('unpacks an empty archive (a client without data volumes) as nothing, without reaching Docker', async () => {
    const got = await run(await tarOf([]))
    expect(got.error).toBeUndefined()
    expect(got.data).toEqual({
      unpacked: { entries: 0, files: 0, fileBytes: 0 },
      readBack: { files: 0, fileBytes: 0 },
      extraFiles: 0,
    })
    expect(got.used).toEqual([])
    expect(got.spoolLeft).toBe(false)
  })

  it("takes the sender's archive of a client without data volumes (an empty one) as nothing", async () => {
    // The sender's own packing, with a Docker that lists no volume for the client: no helper, no archive call.
    const docker = { listVolumes: async () => ({ Volumes: [] }) } as unknown as Dockerode
    const files = createClientFiles({ docker, serverId: randomUUID(), spoolDir: path.join(dir(), 'spool') })
    const packed = await files.packToFile({ slug: 'lab-one', clientId: randomUUID() }, dir(), 'x.files.tar')
    expect(packed).toMatchObject({ entries: 0, files: 0, fileBytes: 0, keys: [] })
    const got = await run(await fs.readFile(packed.file), { sha256: packed.sha256 })
    expect(got.error).toBeUndefined()
    expect(got.data).toMatchObject({ unpacked: { entries: 0, files: 0, fileBytes: 0 } })
  })

  it('refuses a spool that hashes other than the sender said, before reading it as an archive', async () => {
    const tar = await tarOf([{ header: { name: 'storage-app/a.txt' }, body: 'a' }])
    const got = await run(tar, { sha256: 'f'.repeat(64), expected: { entries: 1, files: 1, fileBytes: 1 } })
    expect(got.error).toMatchObject({ code: 'TRANSFER_FAILED' })
    expect(got.used).toEqual([])
    expect(got.spoolLeft).toBe(false)
  })

  it.each([
    ['a path out through ".."', { name: 'storage-app/../../etc/cron.d/x' }, /"\.\." segment/],
    ['an absolute path', { name: '/etc/passwd' }, /absolute path/],
    ['a symlink out of the volume', { name: 'storage-app/l', type: 'symlink', linkname: '/etc' }, /absolute/],
    ['a volume of another profile', { name: 'home-user/.ssh/authorized_keys' }, /not one of this client's/],
    ['a device node', { name: 'storage-app/sda', type: 'block-device' }, /block-device/],
  ] as [string, TarEntryHeader, RegExp][])(
    'refuses an archive with %s, writing nothing',
    async (_what, header, why) => {
      const tar = await tarOf([
        { header: { name: 'storage-app/ok.txt' }, body: 'fine' },
        { header, body: header.type === undefined ? 'x' : '' },
      ])
      const got = await run(tar, { expected: { entries: 2, files: 2, fileBytes: 5 } })
      expect(got.error).toMatchObject({ code: 'INVALID_PAYLOAD' })
      expect((got.error as { message: string }).message).toMatch(why)
      expect(got.used).toEqual([])
      expect(got.spoolLeft).toBe(false)
    },
  )

  it.each([
    ['files', { entries: 2, files: 3, fileBytes: 7 }],
    ['fileBytes', { entries: 2, files: 2, fileBytes: 8 }],
    ['entries', { entries: 1, files: 2, fileBytes: 7 }],
  ])("refuses an archive whose %s differ from the sender's count, writing nothing", async (field, expected) => {
    const tar = await tarOf([
      { header: { name: 'storage-app/a.txt' }, body: 'abc' },
      { header: { name: 'storage-app/b.txt' }, body: 'defg' },
    ])
    const got = await run(tar, { expected })
    expect(got.error).toMatchObject({ code: 'INVALID_PAYLOAD', data: { field } })
    expect(got.used).toEqual([])
  })
})
