import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from './atomic-file.ts'
import { createJournal, JOURNAL_RETENTION_MS, VOLATILE_RETENTION_MS } from './journal.ts'
import { newId, silentLogger, useTempDir } from './test-helpers.ts'

describe('journal', () => {
  const tempDir = useTempDir('journal')

  it('refuses to begin the same id twice, also after a restart', async () => {
    const id = newId()
    const journal = createJournal({ dir: tempDir(), logger: silentLogger })
    await journal.open()
    expect(await journal.begin(id, 'test.sleep')).toBe(true)
    expect(await journal.begin(id, 'test.sleep')).toBe(false)
    await journal.complete(id, { ok: true, data: { sleptMs: 1 } })

    const reopened = createJournal({ dir: tempDir(), logger: silentLogger })
    await reopened.open()
    expect(await reopened.begin(id, 'test.sleep')).toBe(false)
    expect(reopened.get(id)?.result).toEqual({ ok: true, data: { sleptMs: 1 } })
  })

  it("writes an entry's changes in order: an ack made while the result is written is what stays on disk", async () => {
    // The result's write is the slow one (a slow disk): the ack's, made after it, must still land last.
    const writeFile = async (file: string, data: string) => {
      const entry = JSON.parse(data) as { status: string; acked: boolean }
      if (entry.status === 'done' && !entry.acked) await new Promise((resolve) => setTimeout(resolve, 30))
      await writeFileAtomic(file, data)
    }
    const journal = createJournal({ dir: tempDir(), logger: silentLogger, writeFile })
    await journal.open()
    const ids = Array.from({ length: 5 }, () => newId())
    for (const id of ids) await journal.begin(id, 'client.restart')
    // As the dispatcher does: the result goes out while it is written, and the master's ack may come back meanwhile.
    const writes = ids.map((id) => journal.complete(id, { ok: true, data: { healthy: true } }))
    expect(await Promise.all(ids.map((id) => journal.ack(id)))).toEqual(ids.map(() => true))
    await Promise.all(writes)

    const reopened = createJournal({ dir: tempDir(), logger: silentLogger })
    await reopened.open()
    expect(ids.map((id) => reopened.get(id)?.acked)).toEqual(ids.map(() => true))
    expect(reopened.unackedResults()).toEqual([])
  })

  it('turns entries left running by a dead process into INTERRUPTED results', async () => {
    const id = newId()
    const crashed = createJournal({ dir: tempDir(), logger: silentLogger })
    await crashed.open()
    await crashed.begin(id, 'server.info')

    const restarted = createJournal({ dir: tempDir(), logger: silentLogger })
    await restarted.open()
    const entry = restarted.get(id)
    expect(entry?.status).toBe('done')
    expect(entry?.result).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
    expect(restarted.unackedResults().map((e) => e.id)).toEqual([id])
    expect(restarted.inFlight()).toEqual([id])
  })

  it('marks acked results and prunes acked entries older than the retention', async () => {
    let clock = 1_000_000
    const journal = createJournal({ dir: tempDir(), logger: silentLogger, now: () => clock })
    await journal.open()
    const [old, fresh] = [newId(), newId()]
    for (const id of [old, fresh]) {
      await journal.begin(id, 'image.list')
      await journal.complete(id, { ok: true, data: { images: [] } })
    }
    expect(await journal.ack(old)).toBe(true)
    expect(journal.inFlight()).toEqual([fresh])

    clock += JOURNAL_RETENTION_MS + 1
    expect(await journal.ack(fresh)).toBe(true)
    expect(journal.get(old)).toBeUndefined()
    expect(journal.get(fresh)?.acked).toBe(true)
    expect((await fs.readdir(tempDir())).sort()).toEqual([`${fresh}.json`])
  })

  it('writes one private file per command id', async () => {
    const id = newId()
    const journal = createJournal({ dir: tempDir(), logger: silentLogger })
    await journal.open()
    await journal.begin(id, 'server.info')
    const stat = await fs.stat(path.join(tempDir(), `${id}.json`))
    expect(stat.mode & 0o777).toBe(0o600)
  })

  it('refuses an id that is not a uuid instead of writing outside its directory', async () => {
    const journal = createJournal({ dir: tempDir(), logger: silentLogger })
    await journal.open()
    await expect(journal.begin('../../etc/x', 'server.info')).rejects.toThrow()
  })

  it('keeps read-only requests in memory only and forgets them once acked or an hour old', async () => {
    let clock = 1_000_000
    const journal = createJournal({ dir: tempDir(), logger: silentLogger, now: () => clock })
    await journal.open()
    const ids = Array.from({ length: 500 }, newId)
    for (const id of ids) {
      expect(await journal.begin(id, 'client.probe', { readOnly: true })).toBe(true)
      await journal.complete(id, { ok: true, data: {} })
    }
    expect(await fs.readdir(tempDir())).toEqual([])
    for (const id of ids.slice(0, 400)) await journal.ack(id)
    expect(journal.size).toBe(100)
    clock += VOLATILE_RETENTION_MS + 1
    await journal.prune()
    expect(journal.size).toBe(0)
  })

  it('prunes results the master never acknowledged (or refused) once past the retention', async () => {
    let clock = 1_000_000
    const journal = createJournal({ dir: tempDir(), logger: silentLogger, now: () => clock })
    await journal.open()
    const [never, running] = [newId(), newId()]
    await journal.begin(never, 'client.configure')
    await journal.complete(never, { ok: true, data: {} })
    await journal.begin(running, 'client.switch')
    clock += JOURNAL_RETENTION_MS + 1
    await journal.prune()
    expect(journal.get(never)).toBeUndefined()
    expect(journal.unackedResults()).toEqual([])
    // A command still running is never pruned: its result is yet to come.
    expect(journal.get(running)?.status).toBe('running')
    expect(await fs.readdir(tempDir())).toEqual([`${running}.json`])
  })

  it('keeps a command with a step record running after a restart, for recovery, with what it journaled', async () => {
    const [stepped, plain] = [newId(), newId()]
    const crashed = createJournal({ dir: tempDir(), logger: silentLogger })
    await crashed.open()
    await crashed.begin(stepped, 'client.create')
    await crashed.record(stepped, { slug: 'lab', step: 'database' })
    await crashed.record(stepped, { dbCreatedByRun: true })
    await crashed.begin(plain, 'server.info')

    const restarted = createJournal({ dir: tempDir(), logger: silentLogger })
    await restarted.open()
    expect(restarted.toRecover().map((e) => [e.id, e.recovery])).toEqual([
      [stepped, { slug: 'lab', step: 'database', dbCreatedByRun: true }],
    ])
    expect(restarted.get(plain)?.result).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
    expect(restarted.inFlight().sort()).toEqual([stepped, plain].sort())
  })

  it('keeps at most maxFinished finished entries: oldest and acknowledged ones go first, running ones stay', async () => {
    let clock = 1_000_000
    const journal = createJournal({ dir: tempDir(), logger: silentLogger, now: () => clock, maxFinished: 50 })
    await journal.open()
    const running = newId()
    await journal.begin(running, 'client.switch')
    const unacked: string[] = []
    for (let i = 0; i < 120; i++) {
      clock++
      const id = newId()
      await journal.begin(id, 'client.configure', { readOnly: i % 3 === 0 })
      await journal.complete(id, { ok: true, data: {} })
      if (i % 2 === 0) await journal.ack(id)
      else unacked.push(id)
    }
    const finished = journal.size - 1
    expect(finished).toBeLessThanOrEqual(50)
    expect(journal.get(running)?.status).toBe('running')
    // The newest unacknowledged results are still there to be re-sent; the files follow the map.
    expect(journal.unackedResults().map((e) => e.id)).toEqual(unacked.slice(-journal.unackedResults().length))
    expect(journal.unackedResults().length).toBeGreaterThan(0)
    const files = await fs.readdir(tempDir())
    for (const f of files) expect(journal.get(f.replace('.json', ''))).toBeDefined()
  })
})
