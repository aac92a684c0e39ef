import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parseAgentFrame } from './envelope.ts'
import { LIMITS } from './limits.ts'
import { checkMetricsFrame, hasOnlySchemaMembers } from './metrics-check.ts'
import { sampleMetricsFrame } from './metrics.cases.ts'
import { metricsFrameSchema } from './metrics.ts'

const valid = sampleMetricsFrame

/** Values an attacker (or a broken agent) may put anywhere in the frame. */
const HOSTILE: unknown[] = [
  undefined, // the key removed
  null,
  true,
  0,
  -0,
  -1,
  1,
  99.99,
  100,
  100.0001,
  101,
  0.5,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  1e308,
  Infinity,
  -Infinity,
  NaN,
  '',
  '1',
  '/',
  '/\0',
  'x'.repeat(LIMITS.path + 1),
  '/' + 'x'.repeat(LIMITS.path - 1),
  '/' + 'x'.repeat(LIMITS.path),
  'a'.repeat(11),
  'a'.repeat(65),
  'A'.repeat(12),
  '0B6F7F2E-5C1D-4E8A-9F3B-2A7C4D5E6F70',
  '0b6f7f2e-5c1d-9e8a-9f3b-2a7c4d5e6f70',
  '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70\n',
  'x; rm -rf /',
  '$(id)',
  '../../etc/x',
  '-x',
  'a'.repeat(128),
  'a'.repeat(129),
  'zombie',
  'running ',
  'metrics',
  'hello',
  [],
  [1, 2],
  [1, 2, 3],
  [1, 2, 3, 4],
  [1, -2, 3],
  {},
  { total: 1, used: 1, available: 1 },
  { mount: '/', total: 1, used: 1 },
  { rxBytes: 1, txBytes: 1 },
  { __proto__: null },
  JSON.parse('{"__proto__": {"polluted": 1}, "total": 1, "used": 1, "available": 1}'),
]

type Path = (string | number)[]

/** Every path to a value (objects, arrays and leaves) in a JSON value. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  const here = [at]
  if (Array.isArray(value)) return here.concat(...value.map((v, i) => pathsOf(v, [...at, i])))
  if (typeof value === 'object' && value !== null)
    return here.concat(...Object.entries(value).map(([k, v]) => pathsOf(v, [...at, k])))
  return here
}

/** A deep copy of `value` with the thing at `path` replaced (undefined: removed), or a key added when `add`. */
function mutate(value: unknown, path: Path, next: unknown, add?: string): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>
  if (path.length === 0) return add === undefined ? next : { ...copy, [add]: next }
  let parent = copy
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (add !== undefined) (parent[last] as Record<string, unknown>)[add] = next
  else if (next === undefined && !Array.isArray(parent)) delete parent[last]
  else parent[last] = next
  return copy
}

/** Both checks on one value: the same verdict, and on acceptance the same object, key order included. */
function expectSameVerdict(value: unknown) {
  const zod = metricsFrameSchema.safeParse(value)
  const fast = checkMetricsFrame(value)
  expect({ value, accepted: fast !== undefined }).toEqual({ value, accepted: zod.success })
  if (zod.success) expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data))
  // "Nothing but the schema's members" exactly when zod dropped nothing: the text may then be kept as received.
  // Asked of the value as JSON.parse makes it (the only input it gets): no undefined members, no named array members.
  if (fast && zod.success) {
    const parsed = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
    expect({ parsed, verbatim: hasOnlySchemaMembers(parsed) }).toEqual({
      parsed,
      verbatim: isDeepStrictEqual(parsed, metricsFrameSchema.parse(parsed)),
    })
  }
}

/** A small seeded generator, so a failure is reproduced by the same run. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
}

describe('checkMetricsFrame', () => {
  it('does accept a valid frame and returns what zod returns, unknown keys dropped', () => {
    expectSameVerdict(valid)
    const extra = mutate(mutate(valid, ['host'], 'x', 'unknown'), ['containers', 0], { a: 1 }, 'extra')
    expect(checkMetricsFrame(extra)).toEqual(metricsFrameSchema.parse(extra))
    expect(JSON.stringify(checkMetricsFrame(extra))).not.toContain('unknown')
    expect(hasOnlySchemaMembers(valid as Record<string, unknown>)).toBe(true)
    expect(hasOnlySchemaMembers(extra as Record<string, unknown>)).toBe(false)
    expect(hasOnlySchemaMembers(JSON.parse('{"__proto__":1,' + JSON.stringify(valid).slice(1)))).toBe(false)
  })

  it('does give the same verdict as zod for every hostile value at every place in the frame', () => {
    const paths = pathsOf(valid)
    let accepted = 0
    for (const path of paths) {
      for (const bad of HOSTILE) {
        const value = mutate(valid, path, bad)
        expectSameVerdict(value)
        if (metricsFrameSchema.safeParse(value).success) accepted++
      }
    }
    // Some replacements are valid (a cpu of 100, a container without its optional clientId): both must accept those.
    expect(accepted).toBeGreaterThan(20)
    expect(paths.length * HOSTILE.length - accepted).toBeGreaterThan(1_000)
  })

  it('does give the same verdict for random combinations of hostile values and added keys', () => {
    const random = prng(11)
    for (let n = 0; n < 3_000; n++) {
      let value: unknown = valid
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const candidates = pathsOf(value).filter((p) => p.length > 0)
        const path = candidates[Math.floor(random() * candidates.length)]
        if (!path) break
        const bad = HOSTILE[Math.floor(random() * HOSTILE.length)]
        value = random() < 0.1 ? mutate(value, path.slice(0, -1), bad, 'added') : mutate(value, path, bad)
      }
      expectSameVerdict(value)
    }
  })

  it('does give the same verdict at the array bounds', () => {
    const box = valid.containers[1]!
    const disk = valid.host.disk[0]!
    for (const n of [0, LIMITS.containers, LIMITS.containers + 1])
      expectSameVerdict({ ...valid, containers: Array.from({ length: n }, () => box) })
    for (const n of [0, LIMITS.mounts, LIMITS.mounts + 1])
      expectSameVerdict({ ...valid, host: { ...valid.host, disk: Array.from({ length: n }, () => disk) } })
  })

  it('does leave every refusal and its wording to zod in parseAgentFrame', () => {
    const text = JSON.stringify(mutate(valid, ['host', 'cpu'], 101))
    const parsed = parseAgentFrame(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.error.message).toMatch(/^invalid metrics frame: .*host.cpu/)
    const good = parseAgentFrame(JSON.stringify(valid))
    expect(good).toEqual({ ok: true, frame: metricsFrameSchema.parse(valid), verbatim: true })
    // Accepted with the unknown member dropped, but its text is not the frame any more.
    const extra = parseAgentFrame(JSON.stringify(mutate(valid, ['host', 'net'], 'x'.repeat(100), 'padding')))
    expect(extra).toEqual({ ok: true, frame: metricsFrameSchema.parse(valid) })
    // A number JSON cannot hold exactly (an overflow to Infinity) is refused by both.
    expect(parseAgentFrame(JSON.stringify(valid).replace('"cpu":12.5', '"cpu":1e400')).ok).toBe(false)
  })
})
