// The master receives 3,000 metrics frames a second at 15,000 agents, and checking one with zod took ~13 µs of the
// ~20 µs its ingest costs (bench/README.md). This is the same check written out by hand for the one shape that is
// that frequent. metrics.ts stays the source of truth: this check only ever says "valid, and here is exactly what zod
// would have returned" or "ask zod", so zod still decides every refusal and words its error, and
// metrics-check.test.ts proves on valid and hostile frames that both accept the same and return the same.
import { LIMITS } from './limits.ts'
import {
  containerStateSchema,
  type ContainerMetrics,
  type ContainerState,
  type DiskUsage,
  type MetricsFrame,
} from './metrics.ts'

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** z.int().positive() (z.int() is a safe integer). */
const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0

/** z.int().nonnegative(). */
const isBytes = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/** z.number().min(0).max(100) (z.number() refuses NaN and infinities). */
const isPercent = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 100

/** z.number().nonnegative(). */
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

const CONTAINER_ID = /^[a-f0-9]{12,64}$/
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const STATES: ReadonlySet<unknown> = new Set(containerStateSchema.options)
const isState = (v: unknown): v is ContainerState => STATES.has(v)

function disk(v: unknown): DiskUsage | undefined {
  if (!isObject(v)) return undefined
  const { mount, total, used } = v
  if (typeof mount !== 'string' || mount.length > LIMITS.path || mount.includes('\0') || !mount.startsWith('/'))
    return undefined
  if (!isBytes(total) || !isBytes(used)) return undefined
  return { mount, total, used }
}

function container(v: unknown): ContainerMetrics | undefined {
  if (!isObject(v)) return undefined
  const { id, name, clientId, cpu, memBytes, memLimitBytes, state } = v
  if (typeof id !== 'string' || !CONTAINER_ID.test(id)) return undefined
  if (typeof name !== 'string' || name.length > 128 || !CONTAINER_NAME.test(name)) return undefined
  if (clientId !== undefined && (typeof clientId !== 'string' || !UUID.test(clientId))) return undefined
  if (!isPercent(cpu) || !isBytes(memBytes)) return undefined
  if (memLimitBytes !== undefined && !isBytes(memLimitBytes)) return undefined
  if (!isState(state)) return undefined
  // Keys in the schema's order, optional ones only when present: the object zod builds.
  return {
    id,
    name,
    ...(clientId === undefined ? {} : { clientId }),
    cpu,
    memBytes,
    ...(memLimitBytes === undefined ? {} : { memLimitBytes }),
    state,
  }
}

function each<T>(v: unknown, max: number, check: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(v) || v.length > max) return undefined
  const out: T[] = new Array<T>(v.length)
  for (let i = 0; i < v.length; i++) {
    const item = check(v[i])
    if (item === undefined) return undefined
    out[i] = item
  }
  return out
}

/**
 * A `metrics` frame (a parsed JSON value) checked as metricsFrameSchema checks it, returning what its parse would return (unknown
 * keys dropped, keys in the schema's order); undefined when anything is off, and then only zod's answer counts.
 */
export function checkMetricsFrame(value: unknown): MetricsFrame | undefined {
  if (!isObject(value) || value.kind !== 'metrics') return undefined
  const { ts, host, containers } = value
  if (!isPositiveInt(ts) || !isObject(host)) return undefined
  const { cpu, load, mem, net } = host
  if (!isPercent(cpu) || !Array.isArray(load) || load.length !== 3) return undefined
  if (!isNonNegative(load[0]) || !isNonNegative(load[1]) || !isNonNegative(load[2])) return undefined
  if (!isObject(mem) || !isBytes(mem.total) || !isBytes(mem.used) || !isBytes(mem.available)) return undefined
  const disks = each(host.disk, LIMITS.mounts, disk)
  if (!disks || !isObject(net) || !isBytes(net.rxBytes) || !isBytes(net.txBytes)) return undefined
  const list = each(containers, LIMITS.containers, container)
  if (!list) return undefined
  return {
    ts,
    host: {
      cpu,
      load: [load[0], load[1], load[2]],
      mem: { total: mem.total, used: mem.used, available: mem.available },
      disk: disks,
      net: { rxBytes: net.rxBytes, txBytes: net.txBytes },
    },
    containers: list,
    kind: 'metrics',
  }
}

/** Own enumerable members of a parsed JSON object (JSON.parse makes every member one, `__proto__` too). */
function members(v: Json): number {
  let n = 0
  for (const _ in v) n++
  return n
}

/**
 * True when a metrics frame that checkMetricsFrame accepted holds no member the schema does not know, at any depth:
 * then its JSON text, parsed again, gives exactly the checked frame, and the text can be kept as received instead of
 * serialising the frame again (the master's latest sample). Every member is required but the two optional ones of a
 * container, so counting members is enough.
 */
export function hasOnlySchemaMembers(value: Json): boolean {
  const host = value.host as Json
  if (members(value) !== 4 || members(host) !== 5) return false
  if (members(host.mem as Json) !== 3 || members(host.net as Json) !== 2) return false
  for (const d of host.disk as Json[]) if (members(d) !== 3) return false
  for (const c of value.containers as Json[]) {
    const optional = (c.clientId === undefined ? 0 : 1) + (c.memLimitBytes === undefined ? 0 : 1)
    if (members(c) !== 5 + optional) return false
  }
  return true
}
