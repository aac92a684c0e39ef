import http from 'node:http'
import https from 'node:https'
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
function refusalDetail(text: string): string {
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

const ENROLL_TIMEOUT_MS = 30_000
const MAX_ANSWER_CHARS = 1_000_000

/**
 * POSTs the enrollment. node:https rather than fetch because fetch takes no CA: with `ca` (ALFA_AGENT_MASTER_CA) the
 * master's certificate must chain to that CA and to no other, before the token leaves this machine.
 */
function postEnrollment(url: string, body: string, ca: Buffer | undefined): Promise<{ status: number; text: string }> {
  const target = new URL(url)
  const secure = target.protocol === 'https:'
  const send = secure ? https.request : http.request
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          accept: 'application/vnd.api+json, application/json',
        },
        timeout: ENROLL_TIMEOUT_MS,
        ...(secure && ca ? { ca } : {}),
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (text.length < MAX_ANSWER_CHARS) text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ENROLL_TIMEOUT_MS / 1000} s`)))
    req.on('error', reject)
    req.end(body)
  })
}

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
  /** The CA the master's certificate must chain to (ALFA_AGENT_MASTER_CA), for a master under a private CA. */
  ca?: Buffer
}): Promise<AgentIdentity> {
  const { enrollUrl, tls } = masterEndpoints(opts.masterUrl)
  const request: EnrollRequest = { token: opts.token, hostname: enrollHostname(), agentVersion: opts.agentVersion }
  let response: { status: number; text: string }
  try {
    response = await postEnrollment(enrollUrl, JSON.stringify(request), opts.ca)
  } catch (error) {
    throw new EnrollError(`cannot reach the master at ${enrollUrl}: ${(error as Error).message}`)
  }
  if (response.status !== 200) {
    throw new EnrollError(`the master refused enrollment (HTTP ${response.status}): ${refusalDetail(response.text)}`)
  }
  let answer: unknown
  try {
    answer = JSON.parse(response.text)
  } catch {
    throw new EnrollError(`the master's enrollment answer is not JSON: ${response.text.slice(0, 300)}`)
  }
  const parsed = EnrollResponse.safeParse(answer)
  if (!parsed.success)
    throw new EnrollError(`the master's enrollment answer is invalid: ${parsed.error.issues[0]?.message ?? ''}`)
  const { serverId, credential, masterFingerprint } = parsed.data
  // The master may name its certificate; otherwise pin the one it presented just now (trust on first use, after CA checks).
  const fingerprint = tls ? (masterFingerprint ?? (await readPeerFingerprint(enrollUrl, 10_000, opts.ca))) : undefined
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
