// An agent replays the log frames it is not sure the master stored (after a reconnect, after a master restart): the
// master stores each line once, keyed by the agent's own seq, whether the replay reaches the writer that saw the
// first copy or a fresh one (a restarted master's, whose memory is empty: the database's unique key decides).
import { randomUUID } from 'node:crypto'
import { createLogger } from '@alfa/master'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOperationLogWriter } from '../../packages/master/src/operations/operation-log-writer.ts'
import { defaultReply } from '../support/fake-agent.ts'
import { startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'

let m: LiveMaster
beforeAll(async () => {
  m = await startLiveMaster()
})
afterAll(async () => {
  await m?.stop()
})

const logFrame = (id: string, seq: number) =>
  ({ kind: 'log', id, seq, stream: 'info', line: `line ${seq}`, step: 'reboot' }) as const

async function storedLog(opId: string): Promise<string[]> {
  const doc = await m.api('GET', `/operations/${opId}`)
  return doc.json.data.attributes.log.map((l: { message: string }) => l.message)
}

describe('log lines an agent replays are stored once, by its seq', () => {
  it('through the frame router: lines sent before a dropped connection and replayed after it', async () => {
    const a = await m.addAgent('log-replay', { 'server.reboot': () => 'hold' })
    const started = await m.api('POST', `/servers/${a.serverId}/reboot_server`)
    expect(started.status).toBe(202)
    const opId: string = started.json.data.id
    const cmd = await a.agent.waitForCommand('server.reboot')
    for (const seq of [0, 1, 2]) a.agent.send(logFrame(cmd.id, seq))
    await waitUntil(async () => (await storedLog(opId)).includes('line 2'), { timeoutMs: 10_000, what: 'lines 0–2' })

    // The connection drops; the agent is unsure what arrived and replays everything, then the lines made since.
    await a.agent.drop()
    const again = await a.connect({ inFlight: [cmd.id] })
    for (const seq of [0, 1, 2, 3, 4]) again.send(logFrame(cmd.id, seq))
    // And once more out of nothing: a duplicated frame on the same connection.
    again.send(logFrame(cmd.id, 4))
    const answer = defaultReply(cmd)
    if (answer === 'hold') throw new Error('the default reply of a reboot holds')
    again.reply(cmd.id, answer)
    await waitUntil(
      async () => (await m.api('GET', `/operations/${opId}`)).json.data.attributes.status === 'succeeded',
      {
        timeoutMs: 15_000,
        what: 'the reboot to succeed',
      },
    )
    const lines = (await storedLog(opId)).filter((l) => l.startsWith('line '))
    console.log(`stored after the replay: ${lines.join(', ')}`)
    expect(lines).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4'])
    await again.close()
  })

  it('a fresh writer (a restarted master) skips what the database already holds', async () => {
    const prisma = m.master.db.prisma
    const server = await m.addAgent('log-replay-restart')
    const op = await prisma.operation.create({
      data: { id: randomUUID(), kind: 'server.reboot', status: 'running', serverId: server.serverId },
    })
    const logger = createLogger({ level: 'silent' })
    const line = (seq: number) => ({ message: `agent line ${seq}`, agentSeq: seq })
    const before = createOperationLogWriter({ prisma, sql: m.master.db.sql, logger })
    await before.append(op.id, [line(0), line(1), line(2)])
    await before.flush()
    // What the master wrote itself has no agent seq and is never taken for a replay.
    await before.append(op.id, [{ message: 'master line' }])
    await before.flush()

    const after = createOperationLogWriter({ prisma, sql: m.master.db.sql, logger })
    await after.append(op.id, [line(1), line(2), line(3)])
    await after.append(op.id, [{ message: 'master line' }])
    await after.flush()
    const rows = await prisma.operationLog.findMany({ where: { operationId: op.id }, orderBy: { seq: 'asc' } })
    const stored = rows.map((r) => `${r.seq}:${r.agentSeq ?? '-'}:${r.message}`)
    console.log(`stored across two writers: ${stored.join(', ')}`)
    expect(rows.map((r) => r.message)).toEqual([
      'agent line 0',
      'agent line 1',
      'agent line 2',
      'master line',
      'agent line 3',
      'master line',
    ])
    // Numbered without gaps: a skipped replay takes no seq.
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6])
  })
})
