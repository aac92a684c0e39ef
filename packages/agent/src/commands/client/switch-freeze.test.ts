import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../../test-helpers.ts'
import { filesArchiveName } from './files-backup.ts'
import { pruneSnapshots } from './switch-freeze.ts'

describe('pruneSnapshots', () => {
  const dir = useTempDir('snapshots')

  it('keeps the newest snapshots of the client and touches nothing else', async () => {
    const names = [1, 2, 3, 4, 5, 6, 7].map((i) => `lab-switch-2026-11-30T23-0${i}-00-000Z.sql`)
    const others = ['lab-2026-11-30T23-00-00-000Z.sql', 'lab2-switch-2026-11-30T22-00-00-000Z.sql']
    for (const n of [...names, ...others]) await fs.writeFile(path.join(dir(), n), 'x')
    expect(await pruneSnapshots(dir(), 'lab', 5)).toEqual(names.slice(0, 2))
    expect((await fs.readdir(dir())).sort()).toEqual([...names.slice(2), ...others].sort())
  })

  it('counts PostgreSQL snapshots (.dump) and those named .sql before them, and removes their files archives', async () => {
    const names = [
      'pg-switch-2026-11-30T23-01-00-000Z.sql',
      'pg-switch-2026-11-30T23-02-00-000Z.dump',
      'pg-switch-2026-11-30T23-03-00-000Z.dump',
    ]
    const archives = names.map(filesArchiveName)
    expect(archives[1]).toBe('pg-switch-2026-11-30T23-02-00-000Z.files.tar')
    for (const n of [...names, ...archives]) await fs.writeFile(path.join(dir(), n), 'x')
    expect(await pruneSnapshots(dir(), 'pg', 1)).toEqual(names.slice(0, 2))
    expect((await fs.readdir(dir())).sort()).toEqual([names[2], archives[2]].sort())
  })
})
