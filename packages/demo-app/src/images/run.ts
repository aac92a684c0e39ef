import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** Runs argv to completion (no shell); a failure's message carries the argv, exit code and stderr tail. */
export function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout)
        const tail = `${stderr}\n${stdout}`.trim().split('\n').slice(-20).join('\n')
        reject(new Error(`${[command, ...args].join(' ')} failed (${error.code ?? error.signal}):\n${tail}`))
      },
    )
  })
}

/** A fresh build directory under os.tmpdir(); the caller removes it. */
export function makeBuildDir(name: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `alfa-${name}-`))
}
