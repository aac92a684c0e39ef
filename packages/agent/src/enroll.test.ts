import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { enroll } from './enroll.ts'
import { createStateStore } from './state.ts'
import { newId, silentLogger, useTempDir } from './test-helpers.ts'

describe('enroll', () => {
  const tempDir = useTempDir('enroll')
  let server: http.Server
  let answer: (body: unknown) => { status: number; body: unknown }
  let requests: unknown[]
  let url: string

  beforeEach(async () => {
    requests = []
    server = http.createServer((req, res) => {
      let text = ''
      req.on('data', (chunk: Buffer) => (text += chunk.toString()))
      req.on('end', () => {
        const body = JSON.parse(text) as unknown
        requests.push({ path: req.url, body })
        const reply = answer(body)
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it('trades the token for a credential stored 0600 and records the identity', async () => {
    const serverId = newId()
    const credential = 'k'.repeat(43)
    answer = () => ({ status: 200, body: { serverId, credential } })
    const state = createStateStore(path.join(tempDir(), 'state'))
    const identity = await enroll({
      masterUrl: url,
      token: 't'.repeat(43),
      agentVersion: '0.1.0',
      state,
      logger: silentLogger,
    })
    expect(identity).toEqual({ serverId, masterUrl: url })
    expect(requests[0]).toMatchObject({ path: '/agent/enroll', body: { token: 't'.repeat(43), agentVersion: '0.1.0' } })
    expect(await state.readCredential()).toBe(credential)
    expect((await fs.stat(state.paths.credential)).mode & 0o777).toBe(0o600)
    expect((await fs.stat(state.paths.dir)).mode & 0o777).toBe(0o700)
    expect(await state.readIdentity()).toEqual(identity)
  })

  it("reports the master's refusal with its JSON:API detail and stores nothing", async () => {
    answer = () => ({
      status: 401,
      body: { errors: [{ status: '401', code: 'agent_unauthorized', detail: 'enrollment token was already used' }] },
    })
    const state = createStateStore(path.join(tempDir(), 'state'))
    await expect(
      enroll({ masterUrl: url, token: 't'.repeat(43), agentVersion: '0.1.0', state, logger: silentLogger }),
    ).rejects.toThrow('the master refused enrollment (HTTP 401): agent_unauthorized: enrollment token was already used')
    expect(await state.readCredential()).toBeUndefined()
  })
})
