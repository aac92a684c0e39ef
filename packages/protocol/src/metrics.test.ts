import { describe, expect, it } from 'vitest'
import { LIMITS } from './limits.ts'
import { metricsFrameSchema, type MetricsFrame } from './metrics.ts'

const sample: MetricsFrame = {
  kind: 'metrics',
  ts: 1_750_000_000_000,
  host: {
    cpu: 12.5,
    load: [0.5, 0.4, 0.3],
    mem: { total: 8_000_000_000, used: 3_000_000_000, available: 4_500_000_000 },
    disk: [{ mount: '/', total: 100_000_000_000, used: 40_000_000_000 }],
    net: { rxBytes: 123_456, txBytes: 654_321 },
  },
  containers: [
    {
      id: 'a'.repeat(64),
      name: 'alfa-acme',
      clientId: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
      cpu: 1.5,
      memBytes: 200_000_000,
      memLimitBytes: 512_000_000,
      state: 'running',
    },
    { id: 'b'.repeat(12), name: '/postgres', cpu: 0, memBytes: 0, state: 'exited' },
  ],
}

describe('metrics', () => {
  it('does accept a full sample', () => {
    expect(metricsFrameSchema.parse(sample)).toEqual(sample)
  })

  it('does refuse impossible figures', () => {
    const withHost = (host: object) => ({ ...sample, host: { ...sample.host, ...host } })
    expect(metricsFrameSchema.safeParse(withHost({ cpu: 101 })).success).toBe(false)
    expect(metricsFrameSchema.safeParse(withHost({ cpu: -1 })).success).toBe(false)
    expect(metricsFrameSchema.safeParse(withHost({ load: [1, 2] })).success).toBe(false)
    expect(metricsFrameSchema.safeParse(withHost({ net: { rxBytes: -5, txBytes: 0 } })).success).toBe(false)
    expect(metricsFrameSchema.safeParse(withHost({ disk: [{ mount: 'relative', total: 1, used: 1 }] })).success).toBe(
      false,
    )
  })

  it('does bound its arrays', () => {
    const container = sample.containers[0]
    const containers = Array.from({ length: LIMITS.containers + 1 }, () => container)
    expect(metricsFrameSchema.safeParse({ ...sample, containers }).success).toBe(false)
    const disk = Array.from({ length: LIMITS.mounts + 1 }, () => ({ mount: '/', total: 1, used: 1 }))
    expect(metricsFrameSchema.safeParse({ ...sample, host: { ...sample.host, disk } }).success).toBe(false)
  })

  it('does refuse an unknown container state or a hostile container name', () => {
    const container = { ...sample.containers[1], state: 'zombie' }
    expect(metricsFrameSchema.safeParse({ ...sample, containers: [container] }).success).toBe(false)
    const named = { ...sample.containers[1], name: 'x; rm -rf /' }
    expect(metricsFrameSchema.safeParse({ ...sample, containers: [named] }).success).toBe(false)
  })
})
