import fs from 'node:fs/promises'
import { slugSchema } from '@alfa/protocol'
import type { Logger } from 'pino'
import { forwardUntil } from './drivers/forward-site.ts'
import type { createNginxSites } from './drivers/nginx-sites.ts'
import { readInside } from './drivers/safe-files.ts'
import { createExpiryTimer } from './expiry-timer.ts'

/** The sites driver the expiry needs, built per sweep (with that sweep's signal). */
type Sites = Pick<ReturnType<typeof createNginxSites>, 'removeIf'>

const SITE_FILE = /^alfa-(.+)\.conf$/
/** How long one sweep may take (nginx reloads included) before it is abandoned. */
const SWEEP_TIMEOUT_MS = 60_000

/**
 * Ends moves' forwards: a forward site (client.forward) names its end in its own text (`# alfa-forward-until`), so
 * the state survives restarts with nothing else to keep. The sites directory is swept at start-up, every
 * `intervalMs`, and at the next forward's end if sooner; an expired forward is removed under the sites lock (only
 * if it is still that forward: a create since may have replaced it) and nginx reloaded.
 */
export function createForwardExpiry(o: {
  sitesDir: string
  sites: (signal: AbortSignal) => Sites
  now: () => number
  intervalMs: number
  logger: Logger
}) {
  const log = o.logger.child({ component: 'forward-expiry' })

  /** Removes every expired forward; returns the slugs removed and when the next one ends. */
  async function sweep(): Promise<{ removed: string[]; next: number | undefined }> {
    const names = await fs.readdir(o.sitesDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return []
      throw error
    })
    const removed: string[] = []
    let next: number | undefined
    const signal = AbortSignal.timeout(SWEEP_TIMEOUT_MS)
    for (const name of names) {
      const slug = slugSchema.safeParse(SITE_FILE.exec(name)?.[1])
      if (!slug.success) continue
      const text = await readInside(o.sitesDir, name)
      const until = text === undefined ? undefined : forwardUntil(text)
      if (until === undefined) continue
      if (until > o.now()) {
        next = Math.min(next ?? until, until)
        continue
      }
      const expired = (current: string) => {
        const end = forwardUntil(current)
        return end !== undefined && end <= o.now()
      }
      if (await o.sites(signal).removeIf(slug.data, expired)) {
        removed.push(slug.data)
        log.info(
          { slug: slug.data, until: new Date(until).toISOString() },
          'forward ended: site removed, nginx reloaded',
        )
      }
    }
    return { removed, next }
  }

  const timer = createExpiryTimer({
    sweep,
    now: o.now,
    intervalMs: o.intervalMs,
    // Tried again at the next interval: a failed reload leaves the file removed, which the next reload applies.
    onError: (error) => log.error({ err: error }, 'forward expiry sweep failed'),
  })

  return {
    sweep,
    /** Sweeps now (start-up: forwards that ended while the agent was down go at once), then on the timer. */
    start: timer.start,
    stop: timer.stop,
  }
}
