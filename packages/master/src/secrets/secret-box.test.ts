import { randomBytes } from 'node:crypto'
import { mkdtemp, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createSecretBox, loadSecretKey } from './secret-box.ts'

describe('secret-box', () => {
  it('round-trips, never stores the clear text, and refuses tampered data', () => {
    const box = createSecretBox(randomBytes(32))
    const sealed = box.seal('Owner-Pass-123')
    expect(sealed).not.toContain('Owner-Pass-123')
    expect(box.open(sealed)).toBe('Owner-Pass-123')
    expect(box.seal('x')).not.toBe(box.seal('x'))
    const parts = sealed.split('.')
    parts[3] = Buffer.from('tampered').toString('base64url')
    expect(() => box.open(parts.join('.'))).toThrow()
    expect(() => createSecretBox(randomBytes(32)).open(sealed)).toThrow()
  })

  it('creates a 0600 key file once and reuses it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'alfa-key-'))
    const a = await loadSecretKey({ dataDir: dir })
    const b = await loadSecretKey({ dataDir: dir })
    expect(a.equals(b)).toBe(true)
    expect((await stat(path.join(dir, 'secret.key'))).mode & 0o777).toBe(0o600)
    await expect(loadSecretKey({ dataDir: dir, envKey: 'c2hvcnQ=' })).rejects.toThrow(/32 bytes/)
  })
})
