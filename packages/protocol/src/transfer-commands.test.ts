import { describe, expect, it } from 'vitest'
import { parseCommandPayload, type CommandPayload } from './commands.ts'

const good: CommandPayload<'client.restore_files'> = {
  clientId: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
  slug: 'lab-one',
  transferId: '1c6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f71',
  sha256: 'a'.repeat(64),
  dataPaths: ['storage/app'],
  expected: { entries: 3, files: 2, fileBytes: 100 },
}

describe('client.restore_files payload', () => {
  it('accepts a payload true to its schema, also with no data paths (a profile without volumes)', () => {
    expect(parseCommandPayload('client.restore_files', good).ok).toBe(true)
    expect(parseCommandPayload('client.restore_files', { ...good, dataPaths: [] }).ok).toBe(true)
  })

  it.each([
    ['slug', { slug: '../etc' }],
    ['slug', { slug: 'a; rm -rf /' }],
    ['dataPaths', { dataPaths: ['../../etc'] }],
    ['dataPaths', { dataPaths: ['storage/app\n'] }],
    ['dataPaths', { dataPaths: ['a/b', 'a-b'] }],
    ['dataPaths', { dataPaths: Array.from({ length: 9 }, (_, i) => `d${i}`) }],
    ['transferId', { transferId: '../../state/credential' }],
    ['sha256', { sha256: 'A'.repeat(64) }],
    ['expected', { expected: { entries: -1, files: 0, fileBytes: 0 } }],
    ['expected', { expected: { entries: 1, files: 1.5, fileBytes: 0 } }],
    ['clientId', { clientId: '$(id)' }],
  ])('refuses a hostile %s', (field, patch) => {
    const parsed = parseCommandPayload('client.restore_files', { ...good, ...patch })
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(JSON.stringify(parsed.error)).toContain(field)
  })

  it('refuses a files transfer source without its client id or with a hostile slug', () => {
    const send = (source: unknown) =>
      parseCommandPayload('transfer.send', { transferId: good.transferId, token: 'a'.repeat(43), source })
    expect(send({ kind: 'files', slug: 'lab-one', clientId: good.clientId }).ok).toBe(true)
    expect(send({ kind: 'files', slug: 'lab-one' }).ok).toBe(false)
    expect(send({ kind: 'files', slug: '../x', clientId: good.clientId }).ok).toBe(false)
  })

  it('takes keepCopy as a boolean only', () => {
    const send = (keepCopy: unknown) =>
      parseCommandPayload('transfer.send', {
        transferId: good.transferId,
        token: 'a'.repeat(43),
        source: { kind: 'dump', slug: 'lab-one', dbEngine: 'mariadb' },
        keepCopy,
      })
    expect(send(false).ok).toBe(true)
    expect(send(true).ok).toBe(true)
    for (const hostile of ['false', 0, null, { $ne: 1 }]) {
      const parsed = send(hostile)
      expect(parsed.ok).toBe(false)
      if (!parsed.ok) expect(JSON.stringify(parsed.error)).toContain('keepCopy')
    }
  })
})
