import { describe, expect, it } from 'vitest'
import { freeBlock } from './client-network.ts'

describe('freeBlock', () => {
  it('takes the first /28 of the pool', () => {
    expect(freeBlock('10.213.0.0/16', [])).toBe('10.213.0.0/28')
  })

  it('skips blocks any existing network overlaps, whatever its size', () => {
    expect(freeBlock('10.213.0.0/16', ['10.213.0.0/28', '172.17.0.0/16'])).toBe('10.213.0.16/28')
    // A /24 someone else made inside the pool covers sixteen blocks.
    expect(freeBlock('10.213.0.0/16', ['10.213.0.0/24'])).toBe('10.213.1.0/28')
    // A network covering the whole pool leaves nothing.
    expect(freeBlock('10.213.0.0/16', ['10.0.0.0/8'])).toBeUndefined()
  })

  it('skips blocks already tried (lost to a create in parallel)', () => {
    expect(freeBlock('10.213.0.0/16', [], new Set(['10.213.0.0/28', '10.213.0.16/28']))).toBe('10.213.0.32/28')
  })

  it('reports a full pool and ignores what is not an IPv4 CIDR', () => {
    expect(freeBlock('10.213.0.0/28', ['10.213.0.0/28'])).toBeUndefined()
    expect(freeBlock('10.213.0.0/27', ['fd00::/64', ''])).toBe('10.213.0.0/28')
    expect(freeBlock('not a cidr', [])).toBeUndefined()
  })
})
