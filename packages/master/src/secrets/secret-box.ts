import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * AES-256-GCM for secrets that must be shown again (a client owner's password for send_success) or re-sent (a
 * command carrying one): stored as `v1.<iv>.<tag>.<data>` (base64url), never in clear.
 */
export interface SecretBox {
  seal(plain: string): string
  open(sealed: string): string
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes')
  return {
    seal(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return [
        'v1',
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        data.toString('base64url'),
      ].join('.')
    },
    open(sealed) {
      const [v, iv, tag, data] = sealed.split('.')
      if (v !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed secret')
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
    },
  }
}

/**
 * The key: ALFA_SECRET_KEY (base64, 32 bytes) when set (replicas must share it), else `<dataDir>/secret.key`,
 * created 0600 on first start.
 */
export async function loadSecretKey(opts: { envKey?: string; dataDir: string }): Promise<Buffer> {
  if (opts.envKey) {
    const key = Buffer.from(opts.envKey, 'base64')
    if (key.length !== 32) throw new Error('ALFA_SECRET_KEY must be 32 bytes, base64-encoded')
    return key
  }
  const file = path.join(opts.dataDir, 'secret.key')
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (existing) return Buffer.from(existing.trim(), 'base64')
  await mkdir(opts.dataDir, { recursive: true })
  const key = randomBytes(32)
  // wx: two masters starting on one data dir must not overwrite each other's key.
  await writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' }).catch(
    async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
    },
  )
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')
}
