import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import { ConfigError } from './config.ts'

/**
 * Pinning of the master's TLS identity. Only wss:// / https:// masters are pinned; ws:// (a master on the same host)
 * has no TLS and so nothing to pin. The pin is the master's public key (`sha256/<base64>` of its SPKI), not the leaf
 * certificate: a renewal that keeps the key (certbot's default `--reuse-key`, or any CSR from the same key) keeps
 * working. A master whose key changes with each renewal is pinned through its CA instead (a `ca` given here: the
 * chain must lead to that CA and no other). Pins recorded by older agents (a leaf's "AB:CD:…" fingerprint) still
 * match the certificate they were taken from.
 */

/** The SPKI pin of a certificate: `sha256/` + base64 of the SHA-256 of its DER public key (as HPKP wrote it). */
export function spkiPin(cert: { pubkey?: Buffer }): string | undefined {
  return cert.pubkey ? `sha256/${createHash('sha256').update(cert.pubkey).digest('base64')}` : undefined
}

/** Reads the SPKI pin of the certificate a TLS server presents (normal CA checks apply, against `ca` when given). */
export function readPeerFingerprint(url: string, timeoutMs = 10_000, ca?: string | Buffer): Promise<string> {
  const { hostname, port, protocol } = new URL(url)
  const defaultPort = protocol === 'https:' || protocol === 'wss:' ? 443 : 80
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: hostname,
      port: Number(port || defaultPort),
      servername: hostname.replace(/^\[|\]$/g, ''),
      timeout: timeoutMs,
      ...(ca ? { ca } : {}),
    })
    socket.once('secureConnect', () => {
      const pin = spkiPin(socket.getPeerCertificate())
      socket.end()
      if (pin) resolve(pin)
      else reject(new Error('the master presented no public key'))
    })
    socket.once('timeout', () => socket.destroy(new Error(`TLS handshake with ${hostname} timed out`)))
    socket.once('error', reject)
  })
}

/**
 * TLS options that refuse any master whose key is not the pinned one (or, with `ca`, whose chain does not lead to
 * that CA), on top of the usual host name checks.
 */
export function pinnedTlsOptions(
  pin: string | undefined,
  ca?: string | Buffer,
): Pick<tls.ConnectionOptions, 'checkServerIdentity' | 'ca'> {
  return {
    ...(ca ? { ca } : {}),
    checkServerIdentity(host, cert) {
      const hostError = tls.checkServerIdentity(host, cert)
      if (hostError) return hostError
      if (pin === undefined) return undefined
      const matches = pin.startsWith('sha256/') ? spkiPin(cert) === pin : cert.fingerprint256 === pin
      if (!matches) return new Error(`master key ${spkiPin(cert)} does not match the pinned ${pin}`)
      return undefined
    },
  }
}

/**
 * Reads ALFA_AGENT_MASTER_CA: the PEM of the CA (or CAs) the master's certificate must chain to. Read once at start;
 * an unreadable file or one without a CA certificate stops the agent with the variable's name rather than failing
 * every connection later with a TLS error.
 */
export function readMasterCa(file: string): Buffer {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (error) {
    throw new ConfigError(`ALFA_AGENT_MASTER_CA: cannot read ${file}: ${(error as Error).message}`)
  }
  let cert: X509Certificate
  try {
    cert = new X509Certificate(pem)
  } catch (error) {
    throw new ConfigError(`ALFA_AGENT_MASTER_CA: ${file} holds no PEM certificate: ${(error as Error).message}`)
  }
  if (!cert.ca)
    throw new ConfigError(`ALFA_AGENT_MASTER_CA: ${file} is not a CA certificate (basicConstraints CA:TRUE)`)
  return pem
}
