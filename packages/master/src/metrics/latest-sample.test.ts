import { parseAgentFrame, type MetricsFrame, type MetricsSample } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { LatestSample } from './latest-sample.ts'
import type { RawSample } from './raw-window.ts'

const raw: RawSample = {
  ts: 1,
  cpu: 2,
  load1: 3,
  memUsed: 4,
  memTotal: 5,
  diskUsed: 6,
  diskTotal: 7,
  rxBytes: 8,
  txBytes: 9,
}

const sampleMetricsFrame: MetricsFrame = {
  kind: 'metrics',
  ts: 1_750_000_000_000,
  host: {
    cpu: 12.5,
    load: [0.5, 0.4, 0.3],
    mem: { total: 8e9, used: 3e9, available: 4.5e9 },
    disk: [{ mount: '/', total: 1e11, used: 4e10 }],
    net: { rxBytes: 1, txBytes: 2 },
  },
  containers: [{ id: 'a'.repeat(64), name: 'alfa-acme', cpu: 1.5, memBytes: 2e8, state: 'running' }],
}

/** The frame as the socket hands it to the store: parsed, and its text when the parser says it may be kept. */
function received(text: string) {
  const parsed = parseAgentFrame(text)
  if (!parsed.ok || parsed.frame.kind !== 'metrics') throw new Error('not a metrics frame')
  return { sample: parsed.frame as MetricsSample, text: parsed.verbatim ? text : undefined }
}

describe('LatestSample', () => {
  it('does keep a frame that holds nothing but the sample as it was received', () => {
    const text = JSON.stringify(sampleMetricsFrame)
    const { sample, text: kept } = received(text)
    expect(kept).toBe(text)
    const latest = new LatestSample()
    latest.set(raw, sample, kept)
    expect(latest.text()).toBe(text)
    expect(JSON.parse(latest.text())).toEqual(sample)
  })

  it('does not keep what the schema drops: an unknown member is gone from the stored sample', () => {
    const { sample, text } = received(JSON.stringify({ ...sampleMetricsFrame, note: 'not part of a sample' }))
    expect(text).toBeUndefined()
    const latest = new LatestSample()
    latest.set(raw, sample, text)
    expect(latest.text()).not.toContain('not part of a sample')
    expect(JSON.parse(latest.text())).toEqual(sample)
  })

  it('does serialise a frame padded past the bound, so no agent stores more than its content', () => {
    const padded = JSON.stringify(sampleMetricsFrame).replace('{', `{${' '.repeat(40_000)}`)
    const { sample, text } = received(padded)
    expect(text).toBe(padded) // whitespace is no member: the parser may say "as received"…
    const latest = new LatestSample()
    latest.set(raw, sample, text)
    expect(latest.text()).toBe(JSON.stringify(sample)) // …and the bound decides
  })

  it('does reuse its buffer for a smaller sample and grow it for a larger one', () => {
    const latest = new LatestSample()
    const big = {
      ...sampleMetricsFrame,
      containers: [...sampleMetricsFrame.containers, ...sampleMetricsFrame.containers],
    }
    latest.set(raw, big as MetricsSample, JSON.stringify(big))
    latest.set(raw, sampleMetricsFrame as MetricsSample, JSON.stringify(sampleMetricsFrame))
    expect(latest.text()).toBe(JSON.stringify(sampleMetricsFrame))
    latest.set(raw, big as MetricsSample, JSON.stringify(big))
    expect(latest.text()).toBe(JSON.stringify(big))
  })
})
