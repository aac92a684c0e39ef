import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/** scrypt cost as OWASP recommends (N=2^17, r=8, p=1): slow enough to make a stolen hash expensive to attack. */
export interface HashParams {
  N: number
  r: number
  p: number
}

export const OWASP_SCRYPT: HashParams = { N: 2 ** 17, r: 8, p: 1 }
const KEY_LENGTH = 32

function scrypt(password: string, salt: Buffer, params: HashParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) is below what N=2^17 asks for.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r }
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/** Hashes a password as `scrypt$N$r$p$<salt b64>$<key b64>`; the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string, params: HashParams = OWASP_SCRYPT): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, params)
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$')
}

/** Checks a password against a stored hash in constant time. A malformed hash never verifies. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  const salt = Buffer.from(parts[4]!, 'base64')
  const expected = Buffer.from(parts[5]!, 'base64')
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p) || expected.length !== KEY_LENGTH)
    return false
  const actual = await scrypt(password, salt, { N, r, p })
  return timingSafeEqual(actual, expected)
}

/** Reads the cost parameters out of a stored hash (for tests and for re-hashing on login when they are raised). */
export function hashParamsOf(stored: string): HashParams | undefined {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  return { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) }
}
