// A locally made PKI for TLS tests (openssl through execFile argv, never a shell): CAs, and server certificates for
// 127.0.0.1 signed by one of them. Files are written into the given directory and named after their role.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Paths of a CA's files. */
export interface TestCa {
  cert: string
  key: string
}

/** Paths of a server certificate (for ALFA_TLS_CERT / ALFA_TLS_KEY). */
export interface TestLeaf {
  cert: string
  key: string
}

export function createTestPki(dir: string) {
  const f = (name: string) => path.join(dir, name)
  let serial = 1
  const newKey = (file: string) =>
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file])

  return {
    /** A self-signed CA named `name` (CN and file names). */
    async ca(name: string): Promise<TestCa> {
      const ca = { cert: f(`${name}.pem`), key: f(`${name}.key`) }
      await newKey(ca.key)
      await run('openssl', [
        'req',
        '-x509',
        '-new',
        '-key',
        ca.key,
        '-subj',
        `/CN=${name}`,
        '-days',
        '30',
        '-out',
        ca.cert,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign',
      ])
      return ca
    },

    /** A server certificate for 127.0.0.1 (and localhost) signed by `ca`, with a new key unless one is given. */
    async leaf(name: string, ca: TestCa, keyFile?: string): Promise<TestLeaf> {
      const leaf = { cert: f(`${name}.pem`), key: keyFile ?? f(`${name}.key`) }
      if (!keyFile) await newKey(leaf.key)
      const ext = f(`${name}.ext`)
      await writeFile(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
      await run('openssl', ['req', '-new', '-key', leaf.key, '-subj', '/CN=127.0.0.1', '-out', f(`${name}.csr`)])
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-set_serial',
        String(serial++),
        '-days',
        '30',
        '-extfile',
        ext,
        '-out',
        leaf.cert,
      ])
      return leaf
    },
  }
}
