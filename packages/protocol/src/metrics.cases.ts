import type { MetricsFrame } from './metrics.ts'

/** A full, valid metrics frame for the schema's and the hand-written check's tests (two disks, two containers). */
export const sampleMetricsFrame: MetricsFrame = {
  kind: 'metrics',
  ts: 1_750_000_000_000,
  host: {
    cpu: 12.5,
    load: [0.5, 0.4, 0.3],
    mem: { total: 8_000_000_000, used: 3_000_000_000, available: 4_500_000_000 },
    disk: [
      { mount: '/', total: 100_000_000_000, used: 40_000_000_000 },
      { mount: '/var/lib/docker', total: 1, used: 0 },
    ],
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
