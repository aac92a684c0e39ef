// Everything the bench starts is registered here and undone on exit: normal end, failure, Ctrl-C or the watchdog.
import type { ChildProcess } from 'node:child_process'

type Undo = () => Promise<void> | void

const undos: Undo[] = []
const children = new Set<ChildProcess>()
let running: Promise<void> | undefined

/** Registers an undo step; they run in reverse order of registration. */
export function onCleanup(fn: Undo): void {
  undos.push(fn)
}

/**
 * Tracks a child so cleanup stops it: SIGTERM first, SIGKILL after 20 s (a master closing 20,000 sockets needs more
 * than a few seconds, and its CPU profile is only written on a clean exit). Only this process's own children.
 */
export function trackChild(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    // A child the paired rounds froze (SIGSTOP) would hold SIGTERM until continued.
    child.kill('SIGCONT')
    child.kill('SIGTERM')
  })
}

export function cleanup(): Promise<void> {
  running ??= (async () => {
    await Promise.all([...children].map(stopChild))
    for (const fn of undos.reverse()) {
      try {
        await fn()
      } catch (err) {
        process.stderr.write(`cleanup step failed: ${(err as Error).message}\n`)
      }
    }
  })()
  return running
}

/** Cleans up then exits on signals, uncaught failures, and after `watchdogMs` whatever the bench is doing. */
export function installExitHandlers(watchdogMs: number): void {
  const bail = (why: string, code: number) => {
    process.stderr.write(`\nbench: ${why}; cleaning up\n`)
    void cleanup().finally(() => process.exit(code))
  }
  process.once('SIGINT', () => bail('interrupted', 130))
  process.once('SIGTERM', () => bail('terminated', 143))
  process.on('uncaughtException', (err) => bail(`failed: ${err.stack ?? err.message}`, 1))
  process.on('unhandledRejection', (err) => bail(`failed: ${err instanceof Error ? err.stack : String(err)}`, 1))
  setTimeout(() => bail(`watchdog: still running after ${Math.round(watchdogMs / 1000)} s`, 2), watchdogMs).unref()
}
