import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../test-helpers.ts'
import { checkedSpool, discardSpool, receiveIntoSpool } from './spool.ts'
import { useRelayStandIn, type RelayMode } from './test-relay-stand-in.ts'

const ID = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70'
const DATA = Buffer.alloc(2 * 1024 * 1024, 5)
const SHA = createHash('sha256').update(DATA).digest('hex')

describe('transfer spool', () => {
  const dir = useTempDir('spool')
  let mode: RelayMode = 'whole'
  const channel = useRelayStandIn(DATA, () => mode)
  const signal = () => AbortSignal.timeout(10_000)

  it('spools a whole stream, hashes it, and hands it out only when it hashes to what was sent', async () => {
    mode = 'whole'
    expect(await receiveIntoSpool(channel(), dir(), ID, 't'.repeat(43), signal())).toEqual({
      bytes: DATA.length,
      sha256: SHA,
    })
    const checked = await checkedSpool(dir(), ID, SHA, signal())
    expect(checked.bytes).toBe(DATA.length)
    expect(await discardSpool(dir(), ID)).toBe(true)
    expect(await discardSpool(dir(), ID)).toBe(false)
  })

  it('keeps nothing of a stream cut half-way and says TRANSFER_FAILED', async () => {
    mode = 'cut'
    const error = await receiveIntoSpool(channel(), dir(), ID, 't'.repeat(43), signal()).catch((e: unknown) => e)
    expect(error).toMatchObject({ wire: { code: 'TRANSFER_FAILED' } })
    expect(await fs.readdir(path.join(dir(), 'transfers'))).toEqual([])
  })

  it("names the relay's refusal", async () => {
    mode = 'refuse'
    const error = await receiveIntoSpool(channel(), dir(), ID, 't'.repeat(43), signal()).catch((e: unknown) => e)
    expect(error).toMatchObject({ wire: { code: 'TRANSFER_FAILED', message: expect.stringMatching(/403/) } })
  })

  it('refuses and removes a spool that does not hash to what the sender sent', async () => {
    mode = 'whole'
    await receiveIntoSpool(channel(), dir(), ID, 't'.repeat(43), signal())
    const error = await checkedSpool(dir(), ID, 'f'.repeat(64), signal()).catch((e: unknown) => e)
    expect(error).toMatchObject({
      wire: { code: 'TRANSFER_FAILED', message: expect.stringMatching(/other than sent/) },
    })
    expect(await fs.readdir(path.join(dir(), 'transfers'))).toEqual([])
  })
})
