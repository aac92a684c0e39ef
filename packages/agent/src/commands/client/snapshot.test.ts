import fs from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { DbAdmin } from '../../drivers/database.ts'
import { createMariadbAdmin } from '../../drivers/database-mariadb.ts'
import { exec } from '../../exec.ts'
import { useTempDir } from '../../test-helpers.ts'
import { verifiedSnapshot } from './snapshot.ts'

/**
 * A dump tool that exits 0 having written `text`: the cases a real tool produces when cut short or misbehaving. The
 * completeness check is the real MariaDB driver's (it only reads the file; nothing connects to the URL).
 */
const mariadb = createMariadbAdmin({
  url: 'mysql://nobody:unused@127.0.0.1:9',
  exec,
  tenantLogin: () => Promise.reject(new Error('no tenant login in this test')),
})
const dumping = (text: string) =>
  ({ dump: (_name: string, file: string) => fs.writeFile(file, text), verify: mariadb.verify }) as DbAdmin

describe('verifiedSnapshot', () => {
  const dir = useTempDir('snapshot')
  const signal = new AbortController().signal
  const complete = '-- MariaDB dump 10.19\nCREATE TABLE t (id int);\n-- Dump completed on 2026-11-30 23:00:00\n'

  it.each([
    ['empty', '', /is empty/],
    ['cut short', '-- MariaDB dump 10.19\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1', /no completion line/],
    ['not a dump', 'mysqldump: Got error: 1045\n-- Dump completed on x\n', /does not begin like a dump/],
  ])('refuses a dump that is %s, naming the file, and removes it', async (_case, text, why) => {
    const run = verifiedSnapshot(dumping(text), 'alfa_x', dir(), 'x.sql', signal)
    await expect(run).rejects.toMatchObject({ wire: { code: 'DB_ERROR', message: expect.stringMatching(why) } })
    await expect(run).rejects.toThrow(`${dir()}/x.sql`)
    expect(await fs.readdir(dir())).toEqual([])
  })

  it('accepts the header MariaDB 10.11+ writes after its sandbox-mode line', async () => {
    const text = `/*M!999999\\- enable the sandbox mode */ \n${complete}`
    await expect(verifiedSnapshot(dumping(text), 'alfa_x', dir(), 'x.sql', signal)).resolves.toMatchObject({
      size: text.length,
    })
  })

  it('accepts a complete dump, 0600, with the checksum of the bytes read back', async () => {
    const dump = await verifiedSnapshot(dumping(complete), 'alfa_x', dir(), 'x.sql', signal)
    expect(dump).toMatchObject({ file: `${dir()}/x.sql`, size: complete.length })
    expect(dump.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect((await fs.stat(dump.file)).mode & 0o777).toBe(0o600)
  })
})
