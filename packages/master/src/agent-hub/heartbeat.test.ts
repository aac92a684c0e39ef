import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pingSkipWindowMs, startHeartbeat, type Beating } from './heartbeat.ts'

function peer(lastHeard: number) {
  const events: string[] = []
  const conn = {
    lastHeard,
    logger: pino({ level: 'silent' }),
    terminate: () => void events.push('terminate'),
    socket: { readyState: 1, OPEN: 1 as const, ping: () => void events.push('ping') },
  } satisfies Beating
  return { conn, events }
}

describe('heartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('skips the ping of a peer heard within half the margin, pings a quieter one, terminates a silent one', () => {
    const hb = 2_000 // 20 slices of 100 ms: each peer is checked once per 2 s, skip window 1 s
    expect(pingSkipWindowMs(hb, 2_000)).toBe(1_000)
    const now = Date.now()
    const fresh = peer(now + 1_500) // heard 500 ms before its check
    const quiet = peer(now)
    const silent = peer(now - 2 * hb)
    // One set each: a set's first peer is checked once per period, at its end.
    const stops = [fresh, quiet, silent].map((p) => startHeartbeat(new Set([p.conn]), hb))
    vi.advanceTimersByTime(hb)
    for (const stop of stops) stop()
    expect(fresh.events).toEqual([])
    expect(quiet.events).toEqual(['ping'])
    expect(silent.events).toEqual(['terminate'])
  })

  it('never lets a live peer that answers its pings reach two silent heartbeats', () => {
    const hb = 2_000
    const p = peer(Date.now())
    // A live peer answers each ping at once; otherwise it says nothing.
    p.conn.socket.ping = () => {
      p.events.push('ping')
      p.conn.lastHeard = Date.now()
    }
    const stop = startHeartbeat(new Set([p.conn]), hb)
    for (let t = 0; t < 20; t++) {
      vi.advanceTimersByTime(hb / 2)
      // It also speaks now and then on its own (metrics), which may make a check skip its ping.
      if (t % 7 === 0) p.conn.lastHeard = Date.now()
    }
    stop()
    expect(p.events).not.toContain('terminate')
    expect(p.events).toContain('ping')
  })

  it('always pings when a check period leaves no margin (tiny heartbeats)', () => {
    expect(pingSkipWindowMs(250, 1_000)).toBe(0)
    const p = peer(Date.now())
    const stop = startHeartbeat(new Set([p.conn]), 600) // 10 slices of 100 ms: period 1 s, window 100 ms
    vi.advanceTimersByTime(1_000)
    stop()
    expect(p.events).toEqual(['ping'])
  })
})
