import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pinnedTlsOptions, readMasterCa, readPeerFingerprint } from './pinning.ts'

const run = promisify(execFile)

/** A locally made PKI (openssl, argv only): two CAs, and leaves for 127.0.0.1. */
async function makePki(dir: string) {
  const f = (name: string) => path.join(dir, name)
  const key = (name: string) =>
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name)])
  const ca = async (name: string) => {
    await key(`${name}.key`)
    await run('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      f(`${name}.key`),
      '-subj',
      `/CN=${name}`,
      '-days',
      '30',
      '-out',
      f(`${name}.pem`),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ])
  }
  writeFileSync(f('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  let serial = 1
  const leaf = async (name: string, keyName: string, caName: string) => {
    await run('openssl', ['req', '-new', '-key', f(keyName), '-subj', '/CN=127.0.0.1', '-out', f(`${name}.csr`)])
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${caName}.pem`),
      '-CAkey',
      f(`${caName}.key`),
      '-set_serial',
      String(serial++),
      '-days',
      '30',
      '-extfile',
      f('leaf.ext'),
      '-out',
      f(`${name}.pem`),
    ])
  }
  await ca('ca')
  await ca('rogue-ca')
  await key('k1.key')
  await key('k2.key')
  await key('k3.key')
  await leaf('leaf', 'k1.key', 'ca')
  await leaf('renewed-same-key', 'k1.key', 'ca')
  await leaf('renewed-new-key', 'k2.key', 'ca')
  await leaf('rogue', 'k3.key', 'rogue-ca')
  return (name: string) => readFileSync(f(name))
}

/** Serves one certificate on 127.0.0.1 and tries a pinned connection to it. */
async function connects(cert: Buffer, key: Buffer, opts: ReturnType<typeof pinnedTlsOptions>): Promise<true | string> {
  const server = tls.createServer({ cert, key }, (s) => s.end())
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  try {
    return await new Promise<true | string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...opts })
      socket.once('secureConnect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', (err) => resolve(err.message))
    })
  } finally {
    server.close()
  }
}

describe('pinning', () => {
  let dir: string
  let pki: (name: string) => Buffer
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'alfa-pki-'))
    pki = await makePki(dir)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a public-key pin survives a renewal with the same key and refuses another key', async () => {
    const server = tls.createServer({ cert: pki('leaf.pem'), key: pki('k1.key') }, (s) => s.end())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const pin = await readPeerFingerprint(
      `https://127.0.0.1:${(server.address() as { port: number }).port}`,
      5_000,
      pki('ca.pem'),
    )
    server.close()
    expect(pin).toMatch(/^sha256\/[A-Za-z0-9+/]{43}=$/)
    const opts = pinnedTlsOptions(pin, pki('ca.pem'))
    expect(await connects(pki('leaf.pem'), pki('k1.key'), opts)).toBe(true)
    expect(await connects(pki('renewed-same-key.pem'), pki('k1.key'), opts)).toBe(true)
    expect(await connects(pki('renewed-new-key.pem'), pki('k2.key'), opts)).toMatch(/does not match the pinned/)
  })

  it('a CA pin survives a renewal with a new key; a rogue master with another CA is refused', async () => {
    const opts = pinnedTlsOptions(undefined, pki('ca.pem'))
    expect(await connects(pki('renewed-new-key.pem'), pki('k2.key'), opts)).toBe(true)
    expect(await connects(pki('rogue.pem'), pki('k3.key'), opts)).toMatch(/certificate/i)
    // Even with the rogue's own key pinned, a chain to another CA is refused.
    const rogueOpts = pinnedTlsOptions(undefined, pki('rogue-ca.pem'))
    expect(await connects(pki('leaf.pem'), pki('k1.key'), rogueOpts)).toMatch(/certificate/i)
  })

  it('still honours a leaf fingerprint recorded by an older agent', async () => {
    const cert = new (await import('node:crypto')).X509Certificate(pki('leaf.pem'))
    const opts = pinnedTlsOptions(cert.fingerprint256, pki('ca.pem'))
    expect(await connects(pki('leaf.pem'), pki('k1.key'), opts)).toBe(true)
    expect(await connects(pki('renewed-same-key.pem'), pki('k1.key'), opts)).toMatch(/does not match/)
  })

  it('reads ALFA_AGENT_MASTER_CA only when it names a readable CA certificate', () => {
    expect(readMasterCa(path.join(dir, 'ca.pem')).equals(pki('ca.pem'))).toBe(true)
    expect(() => readMasterCa(path.join(dir, 'leaf.pem'))).toThrow(/ALFA_AGENT_MASTER_CA: .* is not a CA certificate/)
    expect(() => readMasterCa(path.join(dir, 'k1.key'))).toThrow(/ALFA_AGENT_MASTER_CA: .* holds no PEM certificate/)
    expect(() => readMasterCa(path.join(dir, 'missing.pem'))).toThrow(/ALFA_AGENT_MASTER_CA: cannot read/)
  })
})
