import { constants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type Dockerode from 'dockerode'
import type { AgentConfig } from './config.ts'
import type { Exec } from './exec.ts'
import {
  certbotVersion,
  diskUsage,
  dockerVersion,
  gitVersion,
  installedDbEngines,
  nginxVersion,
  zstdVersion,
} from './host-facts.ts'

/** Below either threshold a filesystem is reported as nearly full. */
const LOW_DISK_FRACTION = 0.1
const LOW_DISK_BYTES = 2 * 1024 ** 3

export type CheckStatus = 'ok' | 'warn' | 'fail'

/** One requirement of a server and how this machine meets it. */
export interface DoctorCheck {
  name: string
  status: CheckStatus
  detail: string
}

/** Runs a probe; a missing tool fails a hard requirement and only warns for an optional one. */
async function check(name: string, hard: boolean, probe: () => Promise<string | undefined>): Promise<DoctorCheck> {
  const missing: CheckStatus = hard ? 'fail' : 'warn'
  try {
    const found = await probe()
    return found === undefined
      ? { name, status: missing, detail: 'not installed' }
      : { name, status: 'ok', detail: found }
  } catch (error) {
    return { name, status: missing, detail: error instanceof Error ? error.message : String(error) }
  }
}

async function stateDirCheck(dir: string): Promise<DoctorCheck> {
  const name = 'state dir'
  try {
    await fs.access(dir, constants.W_OK)
    const probe = await fs.mkdtemp(path.join(dir, '.doctor-'))
    await fs.rm(probe, { recursive: true })
    return { name, status: 'ok', detail: `${dir} writable` }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      return { name, status: 'fail', detail: `${dir}: ${(error as Error).message}` }
  }
  // Not created yet: enrollment creates it, provided its parent lets us.
  const parent = path.dirname(dir)
  const parentWritable = await fs.access(parent, constants.W_OK).then(
    () => true,
    () => false,
  )
  return parentWritable
    ? { name, status: 'warn', detail: `${dir} does not exist yet (enroll creates it)` }
    : { name, status: 'fail', detail: `${dir} does not exist and ${parent} is not writable` }
}

async function diskChecks(mounts: readonly string[]): Promise<DoctorCheck[]> {
  return (await diskUsage(mounts)).map(({ mount, total, used }) => {
    const free = total - used
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`
    const low = free < LOW_DISK_BYTES || free < total * LOW_DISK_FRACTION
    return { name: `disk ${mount}`, status: low ? 'warn' : 'ok', detail: `${gib(free)} free of ${gib(total)}` }
  })
}

/** Checks what a server needs to host clients: docker, nginx, git, a database engine, certbot, disk, state dir. */
export async function runDoctor(deps: { docker: Dockerode; exec: Exec; config: AgentConfig }): Promise<DoctorCheck[]> {
  const { docker, exec, config } = deps
  const checks = await Promise.all([
    check('docker', true, async () => `Docker Engine ${await dockerVersion(docker)} at ${config.dockerSocket}`),
    check('nginx', true, () => nginxVersion(exec)),
    check('git', true, () => gitVersion(exec)),
    check('database engine', true, async () => {
      const engines = await installedDbEngines()
      return engines.length > 0 ? engines.join(', ') : undefined
    }),
    // TLS is per server and optional ("where the server has it enabled"): certbot missing is a warning.
    check('certbot', false, () => certbotVersion(exec)),
    // Optional too: without it a move's dump crosses plain, several times the bytes (transfer/capabilities.ts).
    check('zstd', false, () => zstdVersion(exec)),
    stateDirCheck(config.stateDir),
  ])
  return [...checks, ...(await diskChecks(config.diskMounts))]
}

/** The checks as an aligned text table for a terminal. */
export function formatDoctorTable(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((c) => c.name.length), 5)
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' }
  const rows = checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`)
  return [`      ${'check'.padEnd(width)}  detail`, ...rows].join('\n')
}

/** True when no hard requirement failed. */
export const doctorPassed = (checks: readonly DoctorCheck[]): boolean => checks.every((c) => c.status !== 'fail')
