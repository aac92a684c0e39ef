import { describe, expect, it } from 'vitest'
import { LIMITS } from './limits.ts'
import { sampleMetricsFrame } from './metrics.cases.ts'
import { metricsFrameSchema } from './metrics.ts'

const sample = sampleMetricsFrame

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
