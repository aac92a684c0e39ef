import type Docker from 'dockerode'
import { ensureAppImages, type AppImageSpec } from './images/app-image.ts'

/** The repository of the demo image: the key of its app profile in ALFA_APP_PROFILES. */
export const DEMO_REPOSITORY = 'alfa/demo'
/** The demo image ./scripts/start provides: a production build (channel `master`), the newest on the local server. */
export const DEMO_IMAGE: AppImageSpec = { tag: `${DEMO_REPOSITORY}:1.0.0`, version: '1.0.0', channel: 'master' }

/** Builds the demo image when it is missing or its content changed; true when it was (re)built. */
export async function ensureDemoImage(docker: Docker): Promise<boolean> {
  return (await ensureAppImages(docker, [DEMO_IMAGE])).length > 0
}
