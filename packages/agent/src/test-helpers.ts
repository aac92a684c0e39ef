import { randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import type { Logger } from 'pino'
import tarStream from 'tar-stream'
import { afterEach, beforeEach } from 'vitest'
import type Dockerode from 'dockerode'
import type { HandlerDeps } from './command-context.ts'
import { loadAgentConfig } from './config.ts'
import { createImageGate } from './drivers/image-gate.ts'
import { exec, ExecError } from './exec.ts'

/** Helpers shared by this package's unit tests only (never imported by product code). */

/** A logger that writes nothing, for tests that assert on behaviour rather than log lines. */
export const silentLogger: Logger = pino({ level: 'silent' })

/** A fresh private temporary directory; the caller removes it. */
export function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `alfa-agent-${prefix}-`))
}

/** A new command id in the protocol's lower-case uuid form. */
export const newId = (): string => randomUUID()

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A fresh temporary directory per test of the enclosing describe, removed afterwards; call the getter inside tests. */
export function useTempDir(prefix: string): () => string {
  let dir = ''
  beforeEach(async () => {
    dir = await makeTempDir(prefix)
  })
  afterEach(async () => {
    // A test may end while the code under test still writes its journal or outbox behind a frame it already sent;
    // a file created during the recursive removal fails it with ENOTEMPTY (CI, 2026-12-04), which rm retries.
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })
  })
  return () => dir
}

/** One entry's header as tar-stream takes it. */
export type TarEntryHeader = Parameters<ReturnType<typeof tarStream.pack>['entry']>[0]

/** A tar of `entries` (header + optional content), as bytes: how the hostile-archive tests build their input. */
export async function tarOf(entries: { header: TarEntryHeader; body?: string }[]): Promise<Buffer> {
  const pack = tarStream.pack()
  for (const { header, body } of entries) pack.entry(header, body ?? '')
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/**
 * Handler dependencies for dispatcher tests: real exec and config under `stateDir`, no Docker (handlers are fakes).
 * Every directory the agent writes is under `stateDir` too: the defaults are the machine's own (/var/backups/alfa,
 * the nginx sites and pages dirs), where a test once left a file.
 */
export function testHandlerDeps(stateDir: string): HandlerDeps {
  const under = (name: string) => path.join(stateDir, name)
  return {
    docker: {} as Dockerode,
    exec,
    config: loadAgentConfig({
      ALFA_AGENT_STATE_DIR: stateDir,
      ALFA_AGENT_BACKUP_DIR: under('backups'),
      ALFA_AGENT_NGINX_SITES_DIR: under('sites'),
      ALFA_AGENT_PAGES_DIR: under('pages'),
      ALFA_AGENT_ACME_WEBROOT: under('acme'),
      ALFA_AGENT_CERT_DIR: under('certs'),
    }),
    serverId: newId(),
    now: Date.now,
    imageGate: createImageGate(),
  }
}

/** The ExecError `promise` rejects with (fails the test when it resolves or rejects with something else). */
export async function execFailure(promise: Promise<unknown>): Promise<ExecError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof ExecError)) throw new Error(`expected an ExecError, got ${String(error)}`)
  return error
}
