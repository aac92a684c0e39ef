import { describe, expect, it } from 'vitest'
import { recreateReason, type CurrentContainer, type WantedContainer } from './deploy-container.ts'

const wanted: WantedContainer = {
  image: 'alfa/app:1.0.0',
  memoryMb: 256,
  cpus: 1,
  url: 'http://lab.example.com',
  volumes: ['alfa-lab.storage-app'],
}
const current: CurrentContainer = {
  id: 'a'.repeat(64),
  name: 'alfa-lab',
  running: true,
  clientId: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
  env: ['APP_URL=http://lab.example.com', 'DB_PASSWORD=x'],
  imageEnv: [],
  hostPort: 41000,
  memoryMb: 256,
  cpus: 1,
  image: 'alfa/app:1.0.0',
  volumes: ['alfa-lab.storage-app'],
  workingDir: '/app',
}

describe('recreateReason', () => {
  it('keeps a container that matches the record, running or stopped', () => {
    expect(recreateReason(current, wanted)).toBeUndefined()
    expect(recreateReason({ ...current, running: false }, wanted)).toBeUndefined()
  })

  it('names what differs: missing, image, port, limits, URL, credentials', () => {
    expect(recreateReason(undefined, wanted)).toBe('missing')
    expect(recreateReason({ ...current, image: 'alfa/app:0.9.0' }, wanted)).toMatch(/^image alfa\/app:0.9.0/)
    expect(recreateReason({ ...current, hostPort: undefined }, wanted)).toMatch(/port/)
    expect(recreateReason({ ...current, memoryMb: 512 }, wanted)).toMatch(/^limits 512 MB/)
    expect(recreateReason({ ...current, cpus: 2 }, wanted)).toMatch(/^limits/)
    expect(recreateReason({ ...current, env: ['APP_URL=http://old.example.com', 'DB_PASSWORD=x'] }, wanted)).toMatch(
      /APP_URL/,
    )
    expect(recreateReason({ ...current, env: ['APP_URL=http://lab.example.com'] }, wanted)).toMatch(/credentials/)
    // A container made before the app had data volumes is recreated with them mounted.
    expect(recreateReason({ ...current, volumes: [] }, wanted)).toBe('data volume alfa-lab.storage-app is not mounted')
  })
})
