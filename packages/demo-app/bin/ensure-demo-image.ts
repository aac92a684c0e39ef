// For ./scripts/start: builds the demo image when needed and writes the app profiles file that tells the master
// how to operate it. Usage: ensure-demo-image.ts <profiles.json>. Prints the image tag.
import { writeFile, rename } from 'node:fs/promises'
import Docker from 'dockerode'
import { APP_PROFILE } from '../src/profile.ts'
import { DEMO_IMAGE, DEMO_REPOSITORY, ensureDemoImage } from '../src/demo-image.ts'

const profilesFile = process.argv[2]
if (!profilesFile) {
  console.error('usage: ensure-demo-image.ts <profiles.json>')
  process.exit(2)
}
const built = await ensureDemoImage(new Docker())
const tmp = `${profilesFile}.${process.pid}.tmp`
await writeFile(tmp, JSON.stringify({ images: { [DEMO_REPOSITORY]: APP_PROFILE } }, null, 2) + '\n')
await rename(tmp, profilesFile)
console.log(`${DEMO_IMAGE.tag} ${built ? 'built' : 'up to date'}`)
