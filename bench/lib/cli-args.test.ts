import { parseArgs } from 'node:util'
import { describe, expect, it } from 'vitest'
import { benchArgs } from './cli-args.ts'

describe('benchArgs', () => {
  it('drops the -- pnpm passes through, so the flags after it parse', () => {
    const args = benchArgs(['--', '--agents', '15000', '--topout'])
    const { values } = parseArgs({ args, options: { agents: { type: 'string' }, topout: { type: 'boolean' } } })
    expect(values).toEqual({ agents: '15000', topout: true })
  })

  it('leaves arguments without it alone', () => {
    expect(benchArgs(['--agents', '5'])).toEqual(['--agents', '5'])
  })
})
