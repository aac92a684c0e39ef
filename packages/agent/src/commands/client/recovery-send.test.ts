import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { JournalEntry } from '../../journal.ts'
import { newId, silentLogger, testHandlerDeps, useTempDir } from '../../test-helpers.ts'
import { recoverCommand, recoversFromCheckpoints } from './recovery.ts'

const entry = (recovery: Record<string, unknown>): JournalEntry => ({
  id: newId(),
  type: 'transfer.send',
  status: 'running',
  acked: false,
  at: Date.now(),
  recovery,
})

describe('recovery of a transfer.send the agent died in', () => {
  const dir = useTempDir('send-recovery')
  const narrator = { log: () => undefined }
  /** Handler deps with the backup dir inside this test's temp dir (the default is the server's /var/backups/alfa). */
  const depsIn = (root: string) => {
    const deps = testHandlerDeps(root)
    return { ...deps, config: { ...deps.config, backupDir: path.join(root, 'backups') } }
  }

  it('journals its checkpoints, and removes the dump or archive it was writing', async () => {
    expect(recoversFromCheckpoints('transfer.send')).toBe(true)
    const deps = depsIn(dir())
    const { backupDir } = deps.config
    await fs.mkdir(backupDir, { recursive: true })
    for (const name of [
      'lab-one-move-2026-12-01T15-08-01-477Z.sql',
      'lab-one-move-2026-12-01T15-08-01-500Z.sql.zst',
      // A PostgreSQL dump (pg_dump's custom format) is named .dump: once refused here, so a cut one stayed.
      'lab-one-move-2026-12-01T15-08-01-550Z.dump',
      'lab-one-move-2026-12-01T15-08-01-639Z.files.tar',
    ]) {
      // Cut short: no completion line; a final dump of the same client beside it stays.
      await fs.writeFile(path.join(backupDir, name), '-- MariaDB dump\nINSERT INTO')
      await fs.writeFile(path.join(backupDir, 'lab-one-move-2026-11-30T10-00-00-000Z.sql'), 'whole')
      const result = await recoverCommand(entry({ step: 'dump', writing: name }), narrator, deps, silentLogger)
      expect(result).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
      expect(JSON.stringify(result)).toContain(`incomplete ${name} removed`)
      expect(await fs.readdir(backupDir)).toEqual(['lab-one-move-2026-11-30T10-00-00-000Z.sql'])
    }
  })

  it('ends interrupted with nothing removed when it had not started writing', async () => {
    const deps = depsIn(dir())
    const result = await recoverCommand(entry({ step: 'dump' }), narrator, deps, silentLogger)
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'INTERRUPTED', message: expect.stringMatching(/while sending$/) },
    })
  })

  it.each([
    '../../state/credential',
    '/etc/passwd',
    'lab-one.sql',
    'lab-one-move-x.sql\n',
    'lab-one-move-x.zst',
    'lab-one-move-x.tar',
  ])('never removes a journaled name that is not one it makes (%j)', async (writing) => {
    const deps = depsIn(dir())
    await expect(recoverCommand(entry({ writing }), narrator, deps, silentLogger)).rejects.toThrow()
  })
})
