import { describe, expect, it } from 'vitest'
import { EnrollRequest, EnrollResponse } from './enrollment.ts'

const token = 'tKq3_9x-Vb2LmN8pQr4sT6uW1yZ0aBcDeFgHiJ'

describe('enrollment', () => {
  it('does accept a well-formed request and response', () => {
    expect(EnrollRequest.safeParse({ token, hostname: 'srv-1.example.com', agentVersion: '0.1.0' }).success).toBe(true)
    const fingerprint = Array.from({ length: 32 }, () => 'AB').join(':')
    const response = {
      serverId: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70',
      credential: token,
      masterFingerprint: fingerprint,
    }
    expect(EnrollResponse.parse(response)).toEqual(response)
  })

  it('does refuse short, odd or oversized tokens and unknown fields', () => {
    const base = { token, hostname: 'srv-1', agentVersion: '0.1.0' }
    for (const bad of ['short', `${token} `, `${token}\n`, 'x'.repeat(513), '$(id)'.repeat(10)]) {
      expect(EnrollRequest.safeParse({ ...base, token: bad }).success).toBe(false)
    }
    expect(EnrollRequest.safeParse({ ...base, hostname: 'a;b' }).success).toBe(false)
    expect(EnrollRequest.safeParse({ ...base, agentVersion: 'latest' }).success).toBe(false)
    expect(EnrollRequest.safeParse({ ...base, serverId: 'x' }).success).toBe(false)
  })

  it('does refuse a fingerprint in another form', () => {
    const response = { serverId: '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70', credential: token }
    expect(EnrollResponse.safeParse({ ...response, masterFingerprint: 'ab'.repeat(32) }).success).toBe(false)
    expect(EnrollResponse.safeParse(response).success).toBe(true)
  })
})
