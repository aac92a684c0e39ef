// A command that runs past its deadline is stopped and rolled back before DEADLINE_EXCEEDED is reported: at the
// moment the result arrives nothing of the create is left, and the rollback's nginx reload was not cut short.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allLines, startAgentClientEnv, type AgentClientEnv } from './harness.ts'
import { leftoversOf, NOTHING_LEFT } from './leftovers.ts'

let env: AgentClientEnv
beforeAll(async () => {
  // Health would wait a minute for the broken image: the deadline ends the create in that wait.
  env = await startAgentClientEnv({ ALFA_AGENT_HEALTH_TIMEOUT_MS: '60000' })
})
afterAll(async () => {
  await env?.stop()
})

describe('client.create past its deadline', () => {
  it('reports DEADLINE_EXCEEDED only after its rollback removed everything it made', async () => {
    const slug = 'deadline-lab'
    const p = env.createPayload(slug, { image: env.images.brokenHealth })
    const run = await env.run('client.create', p, 20_000)
    // Checked at once, the moment the result is there: a rollback still running would leave something behind.
    const left = await leftoversOf(env, slug)
    console.log(allLines(run))
    expect(run.result).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED' } })
    expect(left).toEqual(NOTHING_LEFT)
    const rollback = run.logs.filter((l) => l.step === 'rollback').map((l) => l.line)
    expect(rollback.length).toBeGreaterThanOrEqual(3)
    expect(rollback.every((line) => line.startsWith('rolled back: '))).toBe(true)
  })
})
