import http from 'node:http'
import https from 'node:https'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { wireError } from '@alfa/protocol'
import { CommandError } from '../command-context.ts'

/**
 * How an agent reaches the master's transfer relay: plain HTTP(S) requests beside its WebSocket, one per transfer
 * side, authenticated twice (the agent's own credential, and the transfer's one-time token for that side).
 */
export interface MasterChannel {
  /** http(s)://host:port[/prefix] of the master. */
  baseUrl: string
  /** The agent's credential (Bearer), as on the WebSocket upgrade. */
  credential: string
}

/** The master channel from the agent's master URL (ws:// → http://, wss:// → https://). */
export function masterChannel(wsUrl: string, credential: string): MasterChannel {
  const url = new URL(wsUrl)
  const scheme = url.protocol === 'wss:' ? 'https:' : 'http:'
  const base = url.pathname.replace(/\/+$/, '').replace(/\/agent$/, '')
  return { baseUrl: `${scheme}//${url.host}${base}`, credential }
}

const failed = (message: string) => new CommandError(wireError('TRANSFER_FAILED', message))

function request(ch: MasterChannel, method: string, transferId: string, token: string, signal: AbortSignal) {
  const url = new URL(`${ch.baseUrl}/agent/transfers/${transferId}`)
  const lib = url.protocol === 'https:' ? https : http
  return lib.request(url, {
    method,
    signal,
    headers: {
      Authorization: `Bearer ${ch.credential}`,
      'X-Alfa-Transfer-Token': token,
      ...(method === 'PUT' ? { 'Content-Type': 'application/octet-stream' } : {}),
    },
  })
}

/** Reads a refusal's body (small JSON) for the message. */
async function refusal(res: http.IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of res as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8')
    if (text.length > 2000) break
  }
  return `${res.statusCode}: ${text.slice(0, 500)}`
}

/**
 * Streams `body` to the relay (PUT, chunked): resolves once the master answered 200, i.e. the receiver took every
 * byte. Backpressure runs end to end: the relay reads from us only as fast as the receiver reads from it.
 */
export async function upload(
  ch: MasterChannel,
  transferId: string,
  token: string,
  body: Readable,
  signal: AbortSignal,
): Promise<void> {
  const req = request(ch, 'PUT', transferId, token, signal)
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    // A relay that refuses before reading closes while we write: its answer may still arrive just after the error.
    req.on('error', (error) => setTimeout(() => reject(error), 250).unref())
  })
  // The relay may refuse before reading anything (401, 404): its answer, not the broken pipe, is the reason.
  const sent = pipeline(body, req).catch((error: unknown) => error)
  let res: http.IncomingMessage
  try {
    res = await answered
  } catch (error) {
    body.destroy()
    throw failed(`sending transfer ${transferId}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (res.statusCode !== 200) {
    body.destroy()
    throw failed(`the relay refused transfer ${transferId}: ${await refusal(res)}`)
  }
  res.resume()
  const error = await sent
  if (error) throw failed(`sending transfer ${transferId}: ${error instanceof Error ? error.message : String(error)}`)
}

/** Opens the relay's stream of transfer `transferId` (GET); the caller consumes it with backpressure. */
export async function download(
  ch: MasterChannel,
  transferId: string,
  token: string,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  const req = request(ch, 'GET', transferId, token, signal)
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    req.once('error', reject)
    req.end()
  }).catch((error: unknown) => {
    throw failed(`receiving transfer ${transferId}: ${error instanceof Error ? error.message : String(error)}`)
  })
  if (res.statusCode !== 200) throw failed(`the relay refused transfer ${transferId}: ${await refusal(res)}`)
  return res
}
