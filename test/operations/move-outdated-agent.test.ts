// A move or copy sends payload fields newer than their commands (PAYLOAD_FEATURES); an older agent would refuse
// them only once the move is under way, after the freeze. So the master refuses it up front, naming who is behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMAND_TYPES, MOVE_FEATURES } from '@alfa/protocol'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'

const CURRENT = { capabilities: [...COMMAND_TYPES, ...MOVE_FEATURES] }

describe('move_to with an agent older than the master (in-process master, fake agents)', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster()
  })
  afterAll(async () => {
    await m?.stop()
  })

  it('is refused at once with 409 agent_outdated naming the server and what it lacks; nothing is sent', async () => {
    const a = await m.addAgent('srv-mv-old', undefined, {})
    const b = await m.addAgent('srv-mv-new', undefined, CURRENT)
    const onOld = await m.activeClient('mv-old', a.serverId)
    const onNew = await m.activeClient('mv-new', b.serverId)
    const before = [a, b].map((s) => s.agent.commands.length)
    // What a move sends first (its preflight asks the target for server.info), and what follows; the periodic
    // checks of active clients (client.probe, client.app) go on meanwhile and are not counted.
    const MOVE_COMMANDS = ['server.info', 'image.list', 'client.create', 'client.configure', 'transfer.send']
    const sentSince = () =>
      [a, b]
        .flatMap((s, i) => s.agent.commands.slice(before[i]).map((cmd) => cmd.type))
        .filter((t) => MOVE_COMMANDS.includes(t))

    // The source is the older one.
    const fromOld = await m.api('GET', `/clients/${onOld}/move_to/${b.serverId}`)
    expect(fromOld.status, JSON.stringify(fromOld.json)).toBe(409)
    expect(fromOld.json.errors[0]).toMatchObject({ status: '409', code: 'agent_outdated' })
    expect(fromOld.json.errors[0].detail).toContain('srv-mv-old')
    for (const feature of MOVE_FEATURES) expect(fromOld.json.errors[0].detail).toContain(feature)
    expect(fromOld.json.errors[0].meta).toEqual({ serverId: a.serverId, missing: [...MOVE_FEATURES] })

    // The target is the older one.
    const toOld = await m.api('GET', `/clients/${onNew}/move_to/${a.serverId}`)
    expect(toOld.status, JSON.stringify(toOld.json)).toBe(409)
    expect(toOld.json.errors[0].detail).toContain('srv-mv-old')

    // Nothing started: no operation, no command to any agent, the clients as they were.
    expect(sentSince()).toEqual([])
    const moves = await m.master.db.prisma.operation.count({ where: { kind: { in: ['client.move', 'client.copy'] } } })
    expect(moves).toBe(0)
    for (const id of [onOld, onNew])
      expect((await m.api('GET', `/clients/${id}`)).json.data.attributes.status).toBe('active')
  })
})
