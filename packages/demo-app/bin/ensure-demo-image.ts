// For ./scripts/start: writes the app profiles file that tells the master how to operate the demo image, then
// builds the image when it is missing or its content changed (prints its tag and which). With --profiles-only it
// writes the file alone, so the master can start while the image builds.
// Usage: ensure-demo-image.ts [--profiles-only] <profiles.json>
import { rename, writeFile } from 'node:fs/promises'
import Docker from 'dockerode'
import { APP_PROFILE } from '../src/profile.ts'
import { DEMO_IMAGE, DEMO_REPOSITORY, ensureDemoImage } from '../src/demo-image.ts'

const profilesOnly = process.argv[2] === '--profiles-only'
const profilesFile = process.argv[profilesOnly ? 3 : 2]
if (!profilesFile) {
  console.error('usage: ensure-demo-image.ts [--profiles-only] <profiles.json>')
  process.exit(2)
}
const tmp = `${profilesFile}.${process.pid}.tmp`
await writeFile(tmp, JSON.stringify({ images: { [DEMO_REPOSITORY]: APP_PROFILE } }, null, 2) + '\n')
await rename(tmp, profilesFile)
if (!profilesOnly) {
  const built = await ensureDemoImage(new Docker())
  console.log(`${DEMO_IMAGE.tag} ${built ? 'built' : 'up to date'}`)
}
