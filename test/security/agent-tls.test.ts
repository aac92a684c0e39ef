// Agents and a master under a locally made CA, as real processes: enrollment and the agent's connection go over
// https:// / wss:// trusting only ALFA_AGENT_MASTER_CA, and an agent given another CA refuses the master.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { makeTempDir, waitUntil } from '../support/process.ts'
import { createTestPki, type TestCa } from '../support/test-pki.ts'
import { securityCase } from './report.ts'

describe('agents over wss:// with ALFA_AGENT_MASTER_CA', () => {
  let cluster: Cluster
  let rogue: TestCa
  let online: Awaited<ReturnType<Cluster['addAgent']>>
  beforeAll(async () => {
    const pki = createTestPki(await makeTempDir('pki'))
    const ca = await pki.ca('test-ca')
    rogue = await pki.ca('rogue-ca')
    const master = await pki.leaf('master', ca)
    cluster = await startCluster({ tls: { cert: master.cert, key: master.key, ca: ca.cert } })
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  securityCase(
    'an agent trusting the master CA enrolls and connects over wss://; a command goes there and back',
    async () => {
      expect(cluster.url).toMatch(/^https:\/\//)
      online = await cluster.addAgent('tls-agent')
      const identity = JSON.parse(await readFile(path.join(online.agent.stateDir, 'identity.json'), 'utf8'))
      expect(identity).toMatchObject({ masterUrl: cluster.url, masterFingerprint: expect.stringMatching(/^sha256\//) })
      // A command round trip over the wss:// connection: the agent lists the images of the real Docker Engine.
      const res = await cluster.api('GET', `/servers/${online.id}/images`)
      expect(res.status).toBe(200)
      expect(Array.isArray(res.json.data)).toBe(true)
      const op = await cluster.api('GET', `/operations/${res.json.meta.operation}`)
      expect(op.json.data.attributes.status).toBe('succeeded')
    },
    90_000,
  )

  securityCase(
    'an agent trusting another CA (or only the system CAs) refuses to enroll: the token never reaches the master',
    async () => {
      const { token } = await cluster.createServer('tls-refused')
      const wrong = await cluster.enroll(cluster.newAgent('tls-wrong-ca'), token, { ALFA_AGENT_MASTER_CA: rogue.cert })
      expect(wrong.code).toBe(1)
      expect(wrong.output).toMatch(/cannot reach the master.*(certificate|self.signed|issuer)/i)
      const system = await cluster.enroll(cluster.newAgent('tls-system-ca'), token, { ALFA_AGENT_MASTER_CA: '' })
      expect(system.code).toBe(1)
      expect(system.output).toMatch(/certificate|self.signed|issuer/i)
      // The token was not spent: an agent with the right CA still enrolls with it.
      expect((await cluster.enroll(cluster.newAgent('tls-right-ca'), token)).code).toBe(0)
    },
    90_000,
  )

  securityCase(
    'an enrolled agent restarted with a wrong CA refuses the wss:// connection and stays offline',
    async () => {
      const { agent } = online
      await agent.proc!.stop()
      await cluster.waitOnline(online.id, false)
      cluster.startAgent(agent, { ALFA_AGENT_MASTER_CA: rogue.cert })
      await waitUntil(async () => /certificate|self.signed|issuer/i.test(await agent.proc!.logTail()), {
        timeoutMs: 20_000,
        what: 'a TLS refusal in the agent log',
      })
      const server = await cluster.api('GET', `/servers/${online.id}`)
      expect(server.json.data.attributes.online).toBe(false)
      await agent.proc!.stop()
      // The same agent with the right CA comes back.
      cluster.startAgent(agent)
      await cluster.waitOnline(online.id, true)
    },
    90_000,
  )
})
