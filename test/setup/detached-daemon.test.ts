// scripts/lib/provision.sh's `detached`, which starts dockerd when there is no systemd: the daemon outlives the
// script, so it must not keep the caller's descriptors. Real bash, a real flock and a real pipe; the daemon is a sleep.
import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, expect, it } from 'vitest'
import { REPO_ROOT } from '../support/cluster.ts'
import { makeTempDir } from '../support/process.ts'

const run = promisify(execFile)
const dir = await makeTempDir('detached')
const lock = path.join(dir, 'caller.lock')
const started: number[] = []
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
  fs.rmSync(dir, { recursive: true, force: true })
})

/**
 * Runs `start` (stdio redirected, as ensure_docker starts dockerd) in a bash that holds an flock on `lock` (descriptor
 * 7) and the write end of a pipe (descriptor 8), as a caller of ensure_docker might, and returns the pid it started
 * once that bash has exited.
 */
async function startUnderLock(start: string): Promise<number> {
  const script = [
    'set -euo pipefail',
    `source ${JSON.stringify(path.join(REPO_ROOT, 'scripts/lib/log.sh'))}`,
    `source ${JSON.stringify(path.join(REPO_ROOT, 'scripts/lib/provision.sh'))}`,
    'exec 7>"$1"; flock 7',
    'exec 8> >(exec cat >/dev/null 2>&1)',
    start,
    'echo $!',
  ].join('\n')
  const { stdout } = await run('bash', ['-c', script, 'bash', lock])
  const pid = Number(stdout.trim())
  started.push(pid)
  return pid
}

const descriptors = (pid: number) =>
  fs
    .readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b)
const lockIsFree = () => {
  try {
    execFileSync('flock', ['-n', lock, 'true'])
    return true
  } catch {
    return false
  }
}

it('starts a daemon with stdin, stdout and stderr only, in a session of its own: the lock is free', async () => {
  const pid = await startUnderLock('detached sleep 60 >/dev/null 2>&1 </dev/null')
  await expect.poll(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u000060\u0000')
  expect(descriptors(pid)).toEqual([0, 1, 2])
  // setsid: its own session (field 6 of /proc/pid/stat is the session id), so the script's group dying spares it.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])).toBe(pid)
  expect(lockIsFree()).toBe(true)
  process.kill(pid, 'SIGKILL')
})

it('is needed: a plain background start keeps the caller’s lock and pipe for as long as it runs', async () => {
  const pid = await startUnderLock('setsid nohup sleep 60 >/dev/null 2>&1 </dev/null &')
  await expect.poll(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u000060\u0000')
  expect(descriptors(pid)).toEqual(expect.arrayContaining([7, 8]))
  expect(lockIsFree()).toBe(false)
  process.kill(pid, 'SIGKILL')
  await expect.poll(lockIsFree).toBe(true)
})
