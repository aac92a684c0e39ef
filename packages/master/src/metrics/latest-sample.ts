import type { MetricsSample } from '@alfa/protocol'
import type { RawSample } from './raw-window.ts'

/** Longest received text kept as it came: a frame with a few dozen containers; a longer one is serialised. */
const VERBATIM_MAX = 16 * 1024

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

  /**
   * `text` is the sample's frame as the agent sent it, when it holds nothing but the sample (the parser's
   * `verbatim`): kept as it is, it saves serialising the sample again (a sixth of the master's work per frame at
   * 3,000 frames/s). Past VERBATIM_MAX (whitespace an agent padded in) the sample is serialised, so no agent
   * makes its latest sample larger than its content.
   */
  set(raw: RawSample, sample: MetricsSample, text?: string): void {
    this.ts = raw.ts
    this.cpu = raw.cpu
    this.load1 = raw.load1
    this.memUsed = raw.memUsed
    this.memTotal = raw.memTotal
    const json = text !== undefined && text.length <= VERBATIM_MAX ? text : JSON.stringify(sample)
    const size = Buffer.byteLength(json)
    // Room for a slightly larger sample next time (a container started), so the buffer is rarely replaced.
    if (size > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(Math.ceil(size * 1.25))
    this.length = this.buffer.write(json, 0)
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
