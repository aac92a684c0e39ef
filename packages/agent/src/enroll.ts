import os from 'node:os'
import { EnrollResponse, type EnrollRequest } from '@alfa/protocol'
import type { Logger } from 'pino'
import { masterEndpoints } from './config.ts'
import { readPeerFingerprint } from './pinning.ts'
import type { AgentIdentity, StateStore } from './state.ts'

/** Enrollment refused or failed; the message carries the master's own explanation. */
export class EnrollError extends Error {
  override name = 'EnrollError'
}

/** The first JSON:API error's detail (or title) of a refusal, for the operator to read. */
async function refusalDetail(response: Response): Promise<string> {
  const text = await response.text()
  try {
    const body = JSON.parse(text) as { errors?: { detail?: string; title?: string; code?: string }[] }
    const first = body.errors?.[0]
    if (first) return [first.code, first.detail ?? first.title].filter(Boolean).join(': ')
  } catch {
    // Not JSON (a proxy's HTML page, say): show the start of the text as it is.
    return text.slice(0, 300)
  }
  return text.slice(0, 300)
}

/** The machine's host name, reduced to what EnrollRequest accepts. */
const enrollHostname = () =>
  os
    .hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 253) || 'unknown'

/**
 * Trades a one-time enrollment token for this agent's credential (POST <master>/agent/enroll), then stores the
 * credential (0600) and the identity (server id, master URL, pinned certificate fingerprint for https).
 */
export async function enroll(opts: {
  masterUrl: string
  token: string
  agentVersion: string
  state: StateStore
  logger: Logger
}): Promise<AgentIdentity> {
  const { enrollUrl, tls } = masterEndpoints(opts.masterUrl)
  const request: EnrollRequest = { token: opts.token, hostname: enrollHostname(), agentVersion: opts.agentVersion }
  let response: Response
  try {
    response = await fetch(enrollUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/vnd.api+json, application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (error) {
    throw new EnrollError(`cannot reach the master at ${enrollUrl}: ${(error as Error).message}`)
  }
  if (response.status !== 200) {
    throw new EnrollError(`the master refused enrollment (HTTP ${response.status}): ${await refusalDetail(response)}`)
  }
  const parsed = EnrollResponse.safeParse(await response.json())
  if (!parsed.success)
    throw new EnrollError(`the master's enrollment answer is invalid: ${parsed.error.issues[0]?.message ?? ''}`)
  const { serverId, credential, masterFingerprint } = parsed.data
  // The master may name its certificate; otherwise pin the one it presented just now (trust on first use, after CA checks).
  const fingerprint = tls ? (masterFingerprint ?? (await readPeerFingerprint(enrollUrl))) : undefined
  const identity: AgentIdentity = {
    serverId,
    masterUrl: opts.masterUrl,
    ...(fingerprint ? { masterFingerprint: fingerprint } : {}),
  }
  await opts.state.ensure()
  await opts.state.writeCredential(credential)
  await opts.state.writeIdentity(identity)
  opts.logger.child({ component: 'enroll' }).info({ serverId, pinned: fingerprint !== undefined }, 'enrolled')
  return identity
}
