import tls from 'node:tls'

/**
 * Pinning of the master's TLS certificate. Only wss:// / https:// masters are pinned; ws:// (tests, a master on the
 * same host) has no TLS and so nothing to pin: the credential then travels in clear text, acceptable on loopback only.
 */

/** Reads the SHA-256 fingerprint ("AB:CD:…") of the certificate a TLS server presents (normal CA checks apply). */
export function readPeerFingerprint(url: string, timeoutMs = 10_000): Promise<string> {
  const { hostname, port, protocol } = new URL(url)
  const defaultPort = protocol === 'https:' || protocol === 'wss:' ? 443 : 80
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: hostname,
      port: Number(port || defaultPort),
      servername: hostname,
      timeout: timeoutMs,
    })
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.end()
      resolve(fingerprint)
    })
    socket.once('timeout', () => socket.destroy(new Error(`TLS handshake with ${hostname} timed out`)))
    socket.once('error', reject)
  })
}

/**
 * TLS options that refuse any master whose certificate is not the pinned one, on top of the usual CA and host name
 * checks (a renewed certificate needs a new pin: re-enroll, or update identity.json).
 */
export function pinnedTlsOptions(fingerprint: string): Pick<tls.ConnectionOptions, 'checkServerIdentity'> {
  return {
    checkServerIdentity(host, cert) {
      const hostError = tls.checkServerIdentity(host, cert)
      if (hostError) return hostError
      if (cert.fingerprint256 !== fingerprint) {
        return new Error(`master certificate ${cert.fingerprint256} does not match the pinned ${fingerprint}`)
      }
      return undefined
    },
  }
}
