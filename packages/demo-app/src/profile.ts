import type { AppProfile } from '@alfa/protocol'

/** How the master and agent operate this app (see README.md): its app profile. */
export const APP_PROFILE: AppProfile = {
  containerPort: 8080,
  healthPath: '/health',
  migrate: ['node', '/app/app.js', 'migrate'],
  demoSeed: ['node', '/app/app.js', 'demo-seed'],
  demoUnseed: ['node', '/app/app.js', 'demo-unseed'],
  setOwnerPassword: ['node', '/app/app.js', 'set-owner-password', '{login}'],
  usersCountSql: 'SELECT COUNT(*) FROM users',
  // Relative to the image's WORKDIR (/app): the app's files land in /app/storage/app, as in Laravel.
  dataPaths: ['storage/app'],
}
