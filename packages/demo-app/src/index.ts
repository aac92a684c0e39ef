export { APP_PROFILE } from './profile.ts'
export { DEMO_IMAGE, DEMO_REPOSITORY, ensureDemoImage } from './demo-image.ts'
export { bundleApp, ensureAppImages, type AppImageSpec } from './images/app-image.ts'
export { BUSYBOX_IMAGE, NODE_IMAGE, ensureBaseImages, followDockerStream, imageLabel } from './images/base-images.ts'
