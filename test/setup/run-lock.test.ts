// The integration run's machine lock (run-lock.ts) with real flock processes, on a file of this test's own.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { makeTempDir } from '../support/process.ts'
import { holdRunLock } from './run-lock.ts'

const dir = await makeTempDir('run-lock')
const file = path.join(dir, 'run.lock')
let holder: ReturnType<typeof spawn> | undefined
afterAll(() => {
  holder?.kill('SIGKILL')
  fs.rmSync(dir, { recursive: true, force: true })
})

it('keeps a second run waiting while the first holds it, and lets it in once released', async () => {
  const release = await holdRunLock(file)
  let told = false
  await expect(holdRunLock(file, { waitS: 2, onWait: () => (told = true) })).rejects.toThrow(/no lock on .*run\.lock/)
  expect(told).toBe(true)
  const second = holdRunLock(file, { waitS: 30 })
  await new Promise((r) => setTimeout(r, 500))
  await release()
  const releaseSecond = await second
  await releaseSecond()
})

it('is let go when the process holding it is killed with SIGKILL (no stale lock)', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `(await import(${JSON.stringify(path.resolve('test/setup/run-lock.ts'))})).holdRunLock(${JSON.stringify(file)}).then(() => console.log('held'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  holder = child
  child.stdout.setEncoding('utf8')
  const [line] = (await once(child.stdout, 'data')) as [string]
  expect(line.trim()).toBe('held')
  await expect(holdRunLock(file, { waitS: 1 })).rejects.toThrow(/no lock/)
  child.kill('SIGKILL')
  await once(child, 'exit')
  const release = await holdRunLock(file, { waitS: 30 })
  await release()
})
