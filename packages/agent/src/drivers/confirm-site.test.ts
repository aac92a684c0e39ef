import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../test-helpers.ts'
import { describeAnswer, meets, visibilityProblems } from './confirm-site.ts'

const answer = (statusCode: number | null, site: string | null, page: string | null = null) => ({
  available: statusCode !== null && statusCode >= 200 && statusCode < 300,
  statusCode,
  latencyMs: 1,
  site,
  page,
})

describe('confirm-site', () => {
  const tempDir = useTempDir('confirm-site')

  it("tells nginx's pages from the app's own 503/403 and from another server block", () => {
    expect(meets(answer(503, 'lab', 'maintenance'), 'lab', 'maintenance')).toBe(true)
    // The app's own 503 is not the maintenance page.
    expect(meets(answer(503, 'lab'), 'lab', 'maintenance')).toBe(false)
    expect(meets(answer(403, 'lab', 'expired'), 'lab', 'expired')).toBe(true)
    expect(meets(answer(403, 'lab', 'expired'), 'lab', 'app')).toBe(false)
    expect(meets(answer(502, 'lab'), 'lab', 'app')).toBe(true)
    expect(meets(answer(502, 'lab'), 'lab', 'healthy')).toBe(false)
    // nginx's page for an app that does not answer: the site passes to the app, which is not healthy.
    expect(meets(answer(502, 'lab', 'unavailable'), 'lab', 'app')).toBe(true)
    expect(meets(answer(504, 'lab', 'unavailable'), 'lab', 'healthy')).toBe(false)
    expect(meets(answer(502, 'lab', 'unavailable'), 'lab', 'maintenance')).toBe(false)
    // A default server answering 200 for any Host is not the client's site.
    expect(meets(answer(200, null), 'lab', 'healthy')).toBe(false)
    expect(meets(answer(200, null), 'lab', 'gone')).toBe(true)
    expect(meets(answer(null, null), 'lab', 'gone')).toBe(true)
    expect(meets(answer(200, 'lab'), 'lab', 'gone')).toBe(false)
    expect(describeAnswer(answer(200, 'lab'), 'lab')).toBe('200 from the app')
    expect(describeAnswer(answer(503, 'lab', 'maintenance'), 'lab')).toBe("503 from nginx's maintenance page")
    expect(describeAnswer(answer(404, null), 'lab')).toBe("404 from another server block (not this client's site)")
    expect(describeAnswer(answer(null, null), 'lab')).toBe('no answer')
  })

  it('names the directory others cannot enter and the page others cannot read', async () => {
    const pages = path.join(tempDir(), 'pages')
    await fs.mkdir(pages, { mode: 0o755 })
    await fs.chmod(tempDir(), 0o755)
    await fs.writeFile(path.join(pages, 'maintenance.html'), 'x', { mode: 0o644 })
    expect(await visibilityProblems(path.join(pages, 'maintenance.html'), true)).toEqual([])
    await fs.chmod(pages, 0o700)
    await fs.chmod(path.join(pages, 'maintenance.html'), 0o600)
    const problems = await visibilityProblems(path.join(pages, 'maintenance.html'), true)
    expect(problems).toContain(`${pages} is mode 0700 (uid ${process.getuid?.()}): others cannot enter it`)
    expect(problems).toContain(`${path.join(pages, 'maintenance.html')} is mode 0600: others cannot read it`)
    expect(await visibilityProblems(path.join(pages, 'lab.maintenance'), false)).toContain(
      `${path.join(pages, 'lab.maintenance')} does not exist`,
    )
  })
})
