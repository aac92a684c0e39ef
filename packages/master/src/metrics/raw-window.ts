/** Fields of a compact raw sample, in storage order. */
export const RAW_FIELDS = [
  'ts',
  'cpu',
  'load1',
  'memUsed',
  'memTotal',
  'diskUsed',
  'diskTotal',
  'rxBytes',
  'txBytes',
] as const
export type RawSample = Record<(typeof RAW_FIELDS)[number], number>
const WIDTH = RAW_FIELDS.length

/**
 * A fixed-size ring of the last N samples of one server, as numbers in one Float64Array: 15,000 servers × 120
 * samples stay near 130 MB instead of the gigabytes the full frames would take.
 */
export class RawWindow {
  private readonly data: Float64Array
  private next = 0
  private count = 0

  constructor(readonly capacity: number) {
    this.data = new Float64Array(capacity * WIDTH)
  }

  push(s: RawSample): void {
    const base = this.next * WIDTH
    for (let i = 0; i < WIDTH; i++) this.data[base + i] = s[RAW_FIELDS[i]!]
    this.next = (this.next + 1) % this.capacity
    this.count = Math.min(this.count + 1, this.capacity)
  }

  /** Samples with from <= ts <= to, oldest first. */
  range(from: number, to: number): RawSample[] {
    const out: RawSample[] = []
    const start = (this.next - this.count + this.capacity) % this.capacity
    for (let k = 0; k < this.count; k++) {
      const base = ((start + k) % this.capacity) * WIDTH
      const ts = this.data[base]!
      if (ts < from || ts > to) continue
      const s = {} as RawSample
      for (let i = 0; i < WIDTH; i++) s[RAW_FIELDS[i]!] = this.data[base + i]!
      out.push(s)
    }
    return out
  }
}
