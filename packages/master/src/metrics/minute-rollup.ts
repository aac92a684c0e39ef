import type { RawSample } from './raw-window.ts'

/** Running aggregate of one server's samples within one minute. */
export interface MinuteAggregate {
  minute: number
  samples: number
  cpuSum: number
  cpuMax: number
  load1Sum: number
  memUsed: number
  memTotal: number
  diskUsed: number
  diskTotal: number
  rxBytes: number
  txBytes: number
}

export const minuteOf = (ts: number) => Math.floor(ts / 60_000) * 60_000

export function startAggregate(s: RawSample): MinuteAggregate {
  return {
    minute: minuteOf(s.ts),
    samples: 1,
    cpuSum: s.cpu,
    cpuMax: s.cpu,
    load1Sum: s.load1,
    memUsed: s.memUsed,
    memTotal: s.memTotal,
    diskUsed: s.diskUsed,
    diskTotal: s.diskTotal,
    rxBytes: s.rxBytes,
    txBytes: s.txBytes,
  }
}

/** Adds a sample of the same minute: averages for CPU and load, the latest value for gauges and counters. */
export function addSample(a: MinuteAggregate, s: RawSample): void {
  a.samples += 1
  a.cpuSum += s.cpu
  a.cpuMax = Math.max(a.cpuMax, s.cpu)
  a.load1Sum += s.load1
  a.memUsed = s.memUsed
  a.memTotal = s.memTotal
  a.diskUsed = s.diskUsed
  a.diskTotal = s.diskTotal
  a.rxBytes = s.rxBytes
  a.txBytes = s.txBytes
}

/**
 * The row MetricRollup stores for a finished minute, as JSON for the batch insert: byte counts stay exact as numbers
 * up to 2^53 (8 PiB), and the minute is an ISO time.
 */
export function rollupRow(serverId: string, a: MinuteAggregate) {
  return {
    serverId,
    minute: new Date(a.minute).toISOString(),
    samples: a.samples,
    cpuAvg: a.cpuSum / a.samples,
    cpuMax: a.cpuMax,
    load1: a.load1Sum / a.samples,
    memUsedBytes: Math.round(a.memUsed),
    memTotalBytes: Math.round(a.memTotal),
    diskUsedBytes: Math.round(a.diskUsed),
    diskTotalBytes: Math.round(a.diskTotal),
    netRxBytes: Math.round(a.rxBytes),
    netTxBytes: Math.round(a.txBytes),
  }
}
