// One integration run per machine at a time. The tests use fixed slugs, ports and container names, and a run's start
// sweeps what a killed run left in Docker (sweep-leftovers.ts), which would remove the containers of a run still
// going: a second run on the same machine broke the first. Now it waits for it. The lock is the kernel's (flock(1),
// util-linux): a holder that dies, even by SIGKILL, closes its pipe to `cat`, which exits and lets the lock go, so no
// stale lock file is ever taken over by hand.
import { spawn } from 'node:child_process'
import { once } from 'node:events'

/** The machine's lock: the Docker engine and the fixed ports are the machine's, whoever runs the tests. */
export const RUN_LOCK_FILE = '/tmp/alfa-integration-run.lock'

const HELD = 'held'

/**
 * Takes the lock, waiting up to `waitS` seconds for the run holding it (`onWait` is told once, after a second), and
 * returns its release. Held by a `flock … cat` child that lives as long as its stdin, our pipe, stays open.
 */
export function holdRunLock(
  file = RUN_LOCK_FILE,
  o: { waitS?: number; onWait?: () => void } = {},
): Promise<() => Promise<void>> {
  const child = spawn('flock', ['--wait', String(o.waitS ?? 3600), file, 'cat'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const release = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.stdin.end()
    await exited
  }
  return new Promise((resolve, reject) => {
    let said = ''
    const waiting = setTimeout(() => o.onWait?.(), 1000)
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (text: string) => (said += text))
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (text: string) => {
      if (text.includes(HELD)) {
        clearTimeout(waiting)
        resolve(release)
      }
    })
    // flock starts `cat` only once the lock is held, so the word comes back only then (cat copies at once; flock's
    // own --verbose message would wait in its stdio buffer until it exits).
    child.stdin.write(`${HELD}\n`)
    child.once('error', (error) => {
      clearTimeout(waiting)
      reject(new Error(`could not run flock for ${file}: ${error.message}`))
    })
    child.once('exit', (code) => {
      clearTimeout(waiting)
      reject(new Error(`no lock on ${file} (flock exited ${code}): ${said.trim() || 'nothing said'}`))
    })
  })
}
