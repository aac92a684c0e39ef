import { describe, expect, it } from 'vitest'
import { verifyFiles, type CarriedFiles } from './move-files.ts'
import { StepFailed, type StepTools } from './move-steps.ts'

const sent = { entries: 52, files: 50, fileBytes: 1_234_567 }

function carried(patch: Partial<CarriedFiles['restored']> = {}): CarriedFiles {
  return {
    sent,
    keptAt: '/var/backups/alfa/lab-move-x.files.tar',
    archiveBytes: 1_300_000,
    restored: { unpacked: { ...sent }, readBack: { files: 50, fileBytes: 1_234_567 }, extraFiles: 0, ...patch },
  }
}

function tools() {
  const lines: string[] = []
  const t = { log: async (message: string) => void lines.push(message) } as unknown as StepTools
  return { t, lines }
}

describe('verifyFiles', () => {
  it('passes when the target unpacked and read back the files and bytes the source packed', async () => {
    const { t, lines } = tools()
    await verifyFiles(t, 'verify', carried({ extraFiles: 2 }))
    expect(lines).toEqual([
      'files verified: 50 files, 1234567 bytes on the target as on the source, each read back with its sha256',
    ])
  })

  it.each([
    ['one file short read back', { readBack: { files: 49, fileBytes: 1_234_000 } }, /read back 49 files/],
    ['a byte short read back', { readBack: { files: 50, fileBytes: 1_234_566 } }, /read back 50 files \(1234566/],
    ['another count unpacked', { unpacked: { entries: 52, files: 51, fileBytes: 1_234_567 } }, /unpacked 51 files/],
  ])('fails the verify naming both figures when %s', async (_what, patch, message) => {
    const { t } = tools()
    const error = await verifyFiles(t, 'verify', carried(patch)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StepFailed)
    expect(error).toMatchObject({ step: 'verify', code: 'FILES_MISMATCH' })
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).toMatch(/the source packed 50 \(1234567 bytes\)/)
  })
})
