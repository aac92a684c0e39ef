import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createKeptDumpExpiry, keptUntil, recordKeptDump } from './kept-dumps.ts'
import { silentLogger, useTempDir } from './test-helpers.ts'

const DAY = 86_400_000
const DUMP = 'lab-one-move-2026-12-01T15-08-01-477Z.sql.zst'
const PG_DUMP = 'lab-two-move-2026-12-02T01-00-00-000Z.dump'
const ARCHIVE = 'lab-one-move-2026-12-01T15-08-00-100Z.files.tar'

describe("a move's kept dumps", () => {
  const dir = useTempDir('kept-dumps')

  /** A state dir and a backup dir in this test's temp dir, the backup dir holding `names`. */
  async function layout(names: string[]) {
    const stateDir = path.join(dir(), 'state')
    const backupDir = path.join(dir(), 'backups')
    await fs.mkdir(backupDir, { recursive: true })
    for (const name of names) await fs.writeFile(path.join(backupDir, name), 'dump')
    const left = async () => (await fs.readdir(backupDir)).sort()
    const records = async () => (await fs.readdir(path.join(stateDir, 'kept-dumps')).catch(() => [])).sort()
    const expiry = (keepDays: number, now: number) =>
      createKeptDumpExpiry({ stateDir, backupDir, keepDays, now: () => now, intervalMs: 60_000, logger: silentLogger })
    return { stateDir, backupDir, left, records, expiry }
  }

  it('removes each file keepDays after it was kept, with its record, and says when the next one goes', async () => {
    // A delete's final dump of a client whose slug ends in -move: by its name alone it looks like a move's dump.
    const deleteDump = 'lab-move-2026-11-01T00-00-00-000Z.sql'
    const l = await layout([DUMP, PG_DUMP, ARCHIVE, deleteDump])
    const t0 = Date.parse('2026-12-01T00:00:00Z')
    await recordKeptDump(l.stateDir, DUMP, t0)
    await recordKeptDump(l.stateDir, ARCHIVE, t0)
    await recordKeptDump(l.stateDir, PG_DUMP, t0 + 2 * DAY)
    expect(await l.records()).toEqual([`${ARCHIVE}.json`, `${DUMP}.json`, `${PG_DUMP}.json`].sort())
    const mode = (await fs.stat(path.join(l.stateDir, 'kept-dumps', `${DUMP}.json`))).mode & 0o777
    expect(mode).toBe(0o600)

    // Within the 30 days nothing goes; the next end is the first kept one's.
    expect(await l.expiry(30, t0 + 29 * DAY).sweep()).toEqual({ removed: [], next: t0 + 30 * DAY })
    expect(await l.left()).toEqual([ARCHIVE, DUMP, PG_DUMP, deleteDump].sort())

    // At 30 days the first two go; the PostgreSQL dump kept two days later stays until its own end.
    expect(await l.expiry(30, t0 + 30 * DAY).sweep()).toEqual({
      removed: expect.arrayContaining([DUMP, ARCHIVE]),
      next: t0 + 32 * DAY,
    })
    expect(await l.left()).toEqual([PG_DUMP, deleteDump].sort())
    expect(await l.records()).toEqual([`${PG_DUMP}.json`])

    // The days are read at each sweep: a shorter setting applies to what was kept before it.
    expect(await l.expiry(1, t0 + 30 * DAY).sweep()).toEqual({ removed: [PG_DUMP], next: undefined })
    // Only what a record names ever goes: the delete's final dump stays for good.
    expect(await l.left()).toEqual([deleteDump])
    expect(await l.records()).toEqual([])
  })

  it('says until when a file kept now stays: keepDays later, or null for 0 (kept for good)', () => {
    const at = Date.parse('2026-12-02T08:00:00.000Z')
    expect(keptUntil(30, at)).toBe('2027-01-01T08:00:00.000Z')
    expect(keptUntil(0.5, at)).toBe('2026-12-02T20:00:00.000Z')
    expect(keptUntil(0, at)).toBeNull()
  })

  it('keeps everything when keepDays is 0, and drops the record of a file removed by hand', async () => {
    const l = await layout([DUMP])
    await recordKeptDump(l.stateDir, DUMP, 0)
    await recordKeptDump(l.stateDir, ARCHIVE, 0)
    expect(await l.expiry(0, 1000 * DAY).sweep()).toEqual({ removed: [], next: undefined })
    expect(await l.left()).toEqual([DUMP])
    expect(await l.expiry(7, 1000 * DAY).sweep()).toEqual({ removed: expect.arrayContaining([DUMP, ARCHIVE]) })
    expect(await l.left()).toEqual([])
    expect(await l.records()).toEqual([])
  })

  it("never records or removes a file that is not a move's, whatever a record says", async () => {
    const l = await layout([DUMP, 'lab-one-2026-11-01T00-00-00-000Z.sql'])
    for (const name of ['../state/identity.json', 'lab-one-2026-11-01T00-00-00-000Z.sql', '/etc/passwd', ''])
      await expect(recordKeptDump(l.stateDir, name, 0), name).rejects.toThrow(/is not a move's file/)
    const records = path.join(l.stateDir, 'kept-dumps')
    await fs.mkdir(records, { recursive: true })
    // Records placed by hand: a name that is not a move's file, one without a date, one that is not JSON.
    await fs.writeFile(
      path.join(records, 'lab-one-2026-11-01T00-00-00-000Z.sql.json'),
      '{"keptAt":"2000-01-01T00:00:00Z"}',
    )
    await fs.writeFile(path.join(records, `${DUMP}.json`), '{"keptAt":"yesterday"}')
    await fs.writeFile(path.join(records, `${ARCHIVE}.json`), 'not json')
    await fs.writeFile(path.join(records, 'notes.txt'), 'hello')
    expect(await l.expiry(1, 1000 * DAY).sweep()).toEqual({ removed: [], next: undefined })
    expect(await l.left()).toEqual([DUMP, 'lab-one-2026-11-01T00-00-00-000Z.sql'].sort())
    expect((await l.records()).length).toBe(4)
  })
})
