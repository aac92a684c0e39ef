import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMAND_TYPES, CONFIGURE_LIMITS, type CommandFrame } from '@alfa/protocol'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'

type Configure = Extract<CommandFrame, { type: 'client.configure' }>

/**
 * An update that finds its client busy or its agent offline is recorded, marked, and sent by the enforcer's next
 * pass once the client is free (in-process master, fake agents; the effect on a real server: e2e client-actions).
 */
describe('settings an update could not send at once', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster()
  })
  afterAll(async () => {
    await m?.stop()
  })

  const update = (id: string, attributes: Record<string, unknown>) =>
    m.api('POST', '/clients', { data: { type: 'clients', id, attributes } })
  const pending = async (id: string) =>
    (await m.master.db.prisma.client.findUniqueOrThrow({ where: { id } })).settingsPending
  const pass = () => m.master.services.expiryEnforcer.tick()

  it('sends what an update recorded while an operation ran as soon as that operation ended, with the limits', async () => {
    const a = await m.addAgent('srv-busy', {}, { capabilities: [...COMMAND_TYPES, CONFIGURE_LIMITS] })
    const id = await m.activeClient('busy', a.serverId)
    await a.agent.close()
    const agent = await a.connect({ script: { 'client.app': () => 'hold' } })
    const migrate = await m.api('POST', `/clients/${id}/migrate`)
    expect(migrate.status).toBe(202)
    const held = await agent.waitForCommand('client.app')

    const upd = await update(id, { turbostart: true, tutorial: false, memoryLimitMb: 384 })
    expect(upd.status).toBe(200)
    expect(upd.json.data.meta.operation).toBeUndefined()
    expect(upd.json.data.meta.pending).toMatch(/running operation.*goes to the server once the client is free/)
    expect(await pending(id)).toBe(true)
    // Busy: the pass sends nothing and keeps the mark.
    expect(await pass()).toBe(0)
    expect(configures(agent.commands)).toHaveLength(0)
    expect(await pending(id)).toBe(true)

    agent.reply(held.id, { ok: true, data: { exitCode: 0 } })
    await waitUntil(
      async () => (await m.api('GET', `/operations/${migrate.json.data.id}`)).json.data.attributes.status !== 'running',
      { timeoutMs: 10_000, what: 'the migrate to end' },
    )
    // Sent as the migrate ended, by this process, with no enforcer pass (those run once a minute here).
    const [sent] = await configuresSent(agent.commands, 1)
    expect(sent!.payload.settings).toMatchObject({ turbostart: true, tutorial: false })
    expect(sent!.payload.limits).toEqual({ memoryMb: 384, cpus: null })
    expect(await pending(id)).toBe(false)
    const ops = (await m.api('GET', `/operations?filter[client]=${id}&filter[kind]=client.settings`)).json
    expect(ops.data).toHaveLength(1)
    expect(ops.data[0].attributes).toMatchObject({ requestedBy: 'pending-settings' })
    await waitUntil(
      async () => (await m.api('GET', `/operations/${ops.data[0].id}`)).json.data.attributes.status === 'succeeded',
      { timeoutMs: 10_000, what: 'the settings to be applied' },
    )
    // Sent once: the next pass finds nothing pending.
    expect(await pass()).toBe(0)
    expect(configures(agent.commands)).toHaveLength(1)
    await agent.close()
  })

  it('sends what an update recorded while the agent was offline as soon as it is back', async () => {
    const a = await m.addAgent('srv-away')
    const id = await m.activeClient('away', a.serverId)
    await a.agent.close()
    await waitUntil(() => !m.master.services.hub.isOnline(a.serverId), { timeoutMs: 5_000, what: 'offline' })
    const upd = await update(id, { turbostart: true })
    expect(upd.status).toBe(200)
    expect(upd.json.data.meta.pending).toMatch(/offline.*goes to the server once its agent is back/)
    const date = await m.api('POST', `/clients/${id}/expire_date`, {
      data: { type: 'expire-dates', attributes: { date: '2031-03-04' } },
    })
    expect(date.status).toBe(200)
    expect(await pass()).toBe(0)
    expect(await pending(id)).toBe(true)

    // Sent as the agent's hello is answered, with no enforcer pass.
    const back = await a.connect()
    const [sent] = await configuresSent(back.commands, 1)
    // Both changes made while away, in one command; an agent without CONFIGURE_LIMITS gets no limits.
    expect(sent!.payload.settings).toMatchObject({ turbostart: true, expireDate: '2031-03-04' })
    expect(sent!.payload.limits).toBeUndefined()
    await waitUntil(async () => !(await pending(id)), { timeoutMs: 10_000, what: 'the mark cleared' })
    expect(await pass()).toBe(0)
    expect(configures(back.commands)).toHaveLength(1)
    await back.close()
  })

  it('leaves an update that reached the server unmarked', async () => {
    const a = await m.addAgent('srv-free')
    const id = await m.activeClient('free', a.serverId)
    const upd = await update(id, { tutorial: false })
    expect(upd.json.data.meta.operation.id).toBeDefined()
    expect(upd.json.data.meta.pending).toBeUndefined()
    expect(await pending(id)).toBe(false)
    await a.agent.close()
  })
})

const configures = (commands: CommandFrame[]) => commands.filter((c): c is Configure => c.type === 'client.configure')

/** The client.configure commands an agent received, once `n` arrived. */
async function configuresSent(commands: CommandFrame[], n: number) {
  await waitUntil(() => configures(commands).length >= n, { timeoutMs: 10_000, what: `${n} client.configure(s)` })
  return configures(commands)
}
