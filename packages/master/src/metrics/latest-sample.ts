import type { MetricsSample } from '@alfa/protocol'
import type { RawSample } from './raw-window.ts'

/**
 * The newest sample of one server, kept in place. Its JSON text lives in a buffer of its own that is reused for every
 * new sample, and its headline figures are fields overwritten in place: 3,000 samples a second then leave nothing
 * behind for the garbage collector but short-lived garbage. (A new string or object per sample lives five seconds,
 * long enough to be promoted to the old generation and collected there, where collection stalls the event loop.)
 */
export class LatestSample {
  ts = 0
  cpu = 0
  load1 = 0
  memUsed = 0
  memTotal = 0
  private buffer = Buffer.allocUnsafeSlow(0)
  private length = 0

  set(raw: RawSample, sample: MetricsSample): void {
    this.ts = raw.ts
    this.cpu = raw.cpu
    this.load1 = raw.load1
    this.memUsed = raw.memUsed
    this.memTotal = raw.memTotal
    const text = JSON.stringify(sample)
    const size = Buffer.byteLength(text)
    // Room for a slightly larger sample next time (a container started), so the buffer is rarely replaced.
    if (size > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(Math.ceil(size * 1.25))
    this.length = this.buffer.write(text, 0)
  }

  /** The sample as JSON text (validated when it arrived). */
  text(): string {
    return this.buffer.toString('utf8', 0, this.length)
  }

  /** What the server list shows of it, in the shape of a stored sample's headline. */
  headline() {
    return {
      ts: this.ts,
      host: { cpu: this.cpu, load: [this.load1], mem: { total: this.memTotal, used: this.memUsed } },
    }
  }
}
