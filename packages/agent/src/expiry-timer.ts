/**
 * Runs a sweep of things that expire (moves' forwards, kept move dumps): at start-up, so what ended while the agent
 * was down goes at once, then every `intervalMs`, or at the next end the sweep reports if that is sooner. A failed
 * sweep is reported and tried again at the next interval.
 */
export function createExpiryTimer(o: {
  /** Removes what has expired; resolves with when the next thing ends (undefined: nothing is waiting). */
  sweep: () => Promise<{ next: number | undefined }>
  now: () => number
  intervalMs: number
  onError: (error: unknown) => void
}) {
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  function schedule(next: number | undefined) {
    if (stopped) return
    const wait = Math.min(o.intervalMs, next === undefined ? o.intervalMs : Math.max(0, next - o.now()))
    timer = setTimeout(() => void tick(), wait)
    timer.unref()
  }

  async function tick() {
    let next: number | undefined
    try {
      next = (await o.sweep()).next
    } catch (error) {
      o.onError(error)
    }
    schedule(next)
  }

  return {
    start(): void {
      stopped = false
      void tick()
    },
    stop(): void {
      stopped = true
      clearTimeout(timer)
    },
  }
}
