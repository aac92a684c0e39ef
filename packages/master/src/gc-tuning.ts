import { setFlagsFromString } from 'node:v8'

/**
 * How far the old generation may grow past what the last full collection left alive before the next one starts:
 * twice (100 %). The master holds a large, steady live set (one socket, parser and sample ring per agent: ~130 MB at
 * 15,000 agents) and a steady trickle of short-lived objects that outlive a young collection because they hang on a
 * socket until its next frame. V8's own factor, chosen from how fast it marks, stayed near 1.3 there: a full
 * collection every ~5 s, each marking the whole live set on the helper threads too (a third of the master's CPU
 * samples over 3 s that held one: bench/README.md, 2026-12-04). At 100 % they come every ~22 s for ~60 MB more
 * heap.
 */
const HEAP_GROWING_PERCENT = 100

/**
 * Applies the master's garbage-collector settings. Read by V8 at every collection, so setting them at start-up works
 * like the command-line flag and holds however the master is launched (scripts/start, a test, a bench). The young
 * generation's size is read once, when the heap is set up: that flag is in packages/master/node-flags.
 */
export function tuneGarbageCollector(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}
