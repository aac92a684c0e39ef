// Frames a simulated agent sends. Metrics frames are built from pre-serialised parts so that thousands of agents per
// process cost the simulator little CPU: the master's work per frame is what the bench measures, not ours.
import { randomBytes } from 'node:crypto'
import { COMMAND_TYPES, PROTOCOL_VERSION, type CommandFrame, type HelloFrame } from '@alfa/protocol'

const GiB = 1024 ** 3

/** Four containers, like a small production server: a realistic frame (about 1 KB) for the master to validate. */
const CONTAINERS_JSON = JSON.stringify(
  Array.from({ length: 4 }, (_, i) => ({
    id: randomBytes(32).toString('hex'),
    name: `alfa-client-${i + 1}`,
    cpu: 1.5 * (i + 1),
    memBytes: 150_000_000 + i * 10_000_000,
    memLimitBytes: 512 * 1024 * 1024,
    state: 'running',
  })),
)

const DISK_JSON = JSON.stringify([
  { mount: '/', total: 80 * GiB, used: 31 * GiB },
  { mount: '/var/lib/docker', total: 200 * GiB, used: 77 * GiB },
])

/**
 * A valid `metrics` frame. `count` goes in net.rxBytes: it is a cumulative counter, as the protocol says, so the
 * latest sample the master stored tells how many frames of this agent it had ingested by then.
 */
export function metricsFrameText(ts: number, count: number): string {
  const cpu = Math.round(Math.random() * 1000) / 10
  return (
    `{"kind":"metrics","ts":${ts},"host":{"cpu":${cpu},"load":[${(cpu / 50).toFixed(2)},0.8,0.6],` +
    `"mem":{"total":${8 * GiB},"used":${3 * GiB},"available":${5 * GiB}},"disk":${DISK_JSON},` +
    `"net":{"rxBytes":${count},"txBytes":${count * 2}}},"containers":${CONTAINERS_JSON}}`
  )
}

export function helloFrameText(serverId: string): string {
  const hello: HelloFrame = {
    kind: 'hello',
    agentVersion: '0.1.0',
    protocolVersion: PROTOCOL_VERSION,
    serverId,
    capabilities: [...COMMAND_TYPES],
    inFlight: [],
  }
  return JSON.stringify(hello)
}

const SERVER_INFO = {
  hostname: 'sim',
  os: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.1.0-sim',
  cpus: 2,
  memTotal: 8 * GiB,
  dockerVersion: '27.0.3',
  nginxVersion: '1.22.1',
  dbEngines: ['mariadb'],
  disk: JSON.parse(DISK_JSON) as unknown,
}

/** The result data a simulated agent answers a command with; undefined for types it does not simulate. */
export async function simulateCommand(frame: CommandFrame): Promise<unknown> {
  switch (frame.type) {
    case 'image.list':
      return { images: [] }
    case 'container.list':
      return { containers: [] }
    case 'server.info':
      return SERVER_INFO
    case 'test.sleep': {
      const started = Date.now()
      await new Promise((resolve) => setTimeout(resolve, frame.payload.ms))
      return { sleptMs: Date.now() - started, ...(frame.payload.marker ? { runs: 1 } : {}) }
    }
    default:
      return undefined
  }
}
