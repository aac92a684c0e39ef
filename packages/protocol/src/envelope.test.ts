import { describe, expect, it } from 'vitest'
import {
  commandFrame,
  encodeFrame,
  parseAgentFrame,
  parseMasterFrame,
  type AgentFrame,
  type FrameParseResult,
  type MasterFrame,
} from './envelope.ts'
import { MAX_FRAME_BYTES } from './limits.ts'
import { PROTOCOL_VERSION } from './version.ts'

const id = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70'
const serverId = '01890a5d-ac96-774b-bcce-b302099a8057'

const agentFrames: AgentFrame[] = [
  {
    kind: 'hello',
    agentVersion: '0.1.0',
    protocolVersion: PROTOCOL_VERSION,
    serverId,
    capabilities: ['server.info', 'image.list'],
    inFlight: [id],
  },
  { kind: 'ack', id },
  { kind: 'log', id, seq: 0, stream: 'stdout', line: 'Step 1/4 : FROM alfa/base', step: 'image.build', level: 'info' },
  { kind: 'progress', id, step: 'database', status: 'done' },
  { kind: 'result', id, ok: true, data: { requestedAt: 1 } },
  { kind: 'result', id, ok: false, error: { code: 'DEADLINE_EXCEEDED', message: 'ran out of time' } },
  { kind: 'error', error: { code: 'INVALID_FRAME', message: 'bad' }, refId: id },
]

const masterFrames: MasterFrame[] = [
  { kind: 'welcome', serverId, protocolVersion: PROTOCOL_VERSION, heartbeatMs: 15_000 },
  commandFrame(id, 'container.restart', { slug: 'acme' }, 30_000),
  { kind: 'ack', id },
  { kind: 'error', error: { code: 'FORBIDDEN_SERVER', message: 'not yours' } },
]

function expectFailure<F>(result: FrameParseResult<F>, code: string): FrameParseResult<F> {
  expect(result.ok).toBe(false)
  if (!result.ok) expect(result.error.code).toBe(code)
  return result
}

describe('envelope', () => {
  it.each(agentFrames.map((frame) => [frame.kind, frame]))('does round-trip an agent %s frame', (_kind, frame) => {
    expect(parseAgentFrame(encodeFrame(frame))).toEqual({ ok: true, frame })
  })

  it.each(masterFrames.map((frame) => [frame.kind, frame]))('does round-trip a master %s frame', (_kind, frame) => {
    expect(parseMasterFrame(encodeFrame(frame))).toEqual({ ok: true, frame })
  })

  it.each([
    ['bad JSON', '{"kind":'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
    ['null', 'null'],
    ['no kind', JSON.stringify({ id })],
    ['an unknown kind', JSON.stringify({ kind: 'shell', cmd: 'id' })],
    ['a master-only kind', JSON.stringify({ kind: 'welcome', serverId, protocolVersion: 1, heartbeatMs: 1000 })],
    ['a bad id', JSON.stringify({ kind: 'ack', id: '$(id)' })],
    ['a negative seq', JSON.stringify({ kind: 'log', id, seq: -1, stream: 'stdout', line: 'x' })],
    ['a NUL in a line', JSON.stringify({ kind: 'log', id, seq: 0, stream: 'stdout', line: 'a\0b' })],
    ['an unknown stream', JSON.stringify({ kind: 'log', id, seq: 0, stream: 'tty', line: 'x' })],
    ['a bad step', JSON.stringify({ kind: 'progress', id, step: '../x', status: 'done' })],
    ['a result without ok', JSON.stringify({ kind: 'result', id, data: {} })],
    ['a failed result without error', JSON.stringify({ kind: 'result', id, ok: false })],
    ['an error with an unknown code', JSON.stringify({ kind: 'error', error: { code: 'OOPS', message: 'x' } })],
    ['too many in-flight ids', JSON.stringify({ ...agentFrames[0], inFlight: Array.from({ length: 1001 }, () => id) })],
  ])('does refuse %s from an agent as INVALID_FRAME, without throwing', (_what, text) => {
    expectFailure(parseAgentFrame(text), 'INVALID_FRAME')
  })

  it('does refuse a frame over MAX_FRAME_BYTES before parsing it', () => {
    const line = 'x'.repeat(MAX_FRAME_BYTES)
    expectFailure(parseAgentFrame(JSON.stringify({ kind: 'log', id, seq: 0, stream: 'stdout', line })), 'INVALID_FRAME')
    // Multi-byte characters count in bytes, not UTF-16 units.
    const wide = JSON.stringify({ kind: 'log', id, seq: 0, stream: 'stdout', line: 'я'.repeat(MAX_FRAME_BYTES / 2) })
    expect(wide.length).toBeLessThan(MAX_FRAME_BYTES)
    expectFailure(parseAgentFrame(wide), 'INVALID_FRAME')
  })

  it('does refuse to encode a frame the peer would refuse', () => {
    const line = 'x'.repeat(MAX_FRAME_BYTES)
    expect(() => encodeFrame({ kind: 'log', id, seq: 0, stream: 'stdout', line })).toThrow(RangeError)
  })

  it('does survive pathological JSON nesting', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const text = `{"kind":"result","id":"${id}","ok":false,"error":{"code":"INTERNAL","message":"x","data":{"a":${deep}}}}`
    expect(() => parseAgentFrame(text)).not.toThrow()
  })

  it('does answer an unknown command type with UNKNOWN_COMMAND and the command id', () => {
    const text = JSON.stringify({ kind: 'command', id, type: 'shell.run', payload: { cmd: 'id' }, deadlineMs: 1000 })
    const result = parseMasterFrame(text)
    expectFailure(result, 'UNKNOWN_COMMAND')
    if (!result.ok) expect(result.refId).toBe(id)
  })

  it.each([
    ['a hostile slug', { slug: 'a; rm -rf /' }],
    ['an option as slug', { slug: '--upload-pack=x' }],
    ['an extra field', { slug: 'acme', argv: ['id'] }],
    ['a missing field', {}],
  ])('does answer %s with INVALID_PAYLOAD and the command id', (_what, payload) => {
    const text = JSON.stringify({ kind: 'command', id, type: 'container.restart', payload, deadlineMs: 1000 })
    const result = parseMasterFrame(text)
    expectFailure(result, 'INVALID_PAYLOAD')
    if (!result.ok) expect(result.refId).toBe(id)
  })

  it.each([
    ['a non-uuid id', { id: 'x', deadlineMs: 1000 }],
    ['no deadline', { id }],
    ['a deadline over a day', { id, deadlineMs: 86_400_001 }],
  ])('does refuse a command with %s as INVALID_FRAME', (_what, envelope) => {
    const text = JSON.stringify({ kind: 'command', type: 'server.info', payload: {}, ...envelope })
    expectFailure(parseMasterFrame(text), 'INVALID_FRAME')
  })

  it('does refuse agent-only frames on the master side', () => {
    expectFailure(parseMasterFrame(encodeFrame(agentFrames[0] as AgentFrame)), 'INVALID_FRAME')
  })

  it('does refuse an unusable heartbeat in welcome', () => {
    const text = JSON.stringify({ kind: 'welcome', serverId, protocolVersion: 1, heartbeatMs: 0 })
    expectFailure(parseMasterFrame(text), 'INVALID_FRAME')
  })

  it('does answer wrong input types without throwing', () => {
    expectFailure(parseAgentFrame(42 as unknown as string), 'INVALID_FRAME')
  })
})
