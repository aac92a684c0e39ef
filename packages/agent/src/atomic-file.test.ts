import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeFileAtomic } from './atomic-file.ts'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alfa-atomic-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true })
})

describe('writeFileAtomic (SECURITY.md: atomic writes)', () => {
  it('lets a reader see only a whole old or a whole new content while the file is rewritten 100 times', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'site.conf')
    // Large enough that a plain write would be seen half-done by a reader racing it.
    const content = (n: number) => `${n}\n`.padEnd(512 * 1024, String(n % 10))
    const wholes = new Set(Array.from({ length: 101 }, (_, n) => content(n)))
    await writeFileAtomic(file, content(0))
    let writing = true
    let reads = 0
    const reader = (async () => {
      while (writing) {
        const seen = await fs.readFile(file, 'utf8')
        reads++
        expect(wholes.has(seen), `a read of ${seen.length} bytes starting ${seen.slice(0, 8)}`).toBe(true)
      }
    })()
    for (let n = 1; n <= 100; n++) await writeFileAtomic(file, content(n))
    writing = false
    await reader
    expect(reads).toBeGreaterThan(0)
    expect(await fs.readFile(file, 'utf8')).toBe(content(100))
  })

  it('leaves what was there untouched and no temp file behind when the rename fails', async () => {
    const dir = await tempDir()
    // A non-empty directory where the file should go: the rename fails after the temp file was written.
    const target = path.join(dir, 'site.conf')
    await fs.mkdir(target)
    await fs.writeFile(path.join(target, 'kept'), 'old')
    await expect(writeFileAtomic(target, 'new content')).rejects.toThrow()
    expect(await fs.readFile(path.join(target, 'kept'), 'utf8')).toBe('old')
    expect(await fs.readdir(dir)).toEqual(['site.conf'])
  })

  it('gives the file exactly the mode asked for', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'page.html')
    await writeFileAtomic(file, 'page', 0o644)
    expect((await fs.stat(file)).mode & 0o777).toBe(0o644)
    await writeFileAtomic(file, 'secret')
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
  })
})
