// A simulator process: holds a few thousand agent connections to one master (or baseline) and speaks the real
// protocol on each: hello, welcome, metrics every interval, ack + result for commands; pongs are answered by ws.
// Started by bench/agents.ts with child_process.fork; it exits when its parent goes away.
import { performance } from 'node:perf_hooks'
import { parseMasterFrame, type CommandFrame } from '@alfa/protocol'
import WebSocket from 'ws'
import type { BurstReport, ConnectReport, FromWorker, SimIdentity, ToWorker, WorkerStats } from './sim-protocol.ts'
import { helloFrameText, metricsFrameText, simulateCommand } from './sim-frames.ts'

const now = () => performance.timeOrigin + performance.now()

interface SimAgent {
  id: SimIdentity
  ws: WebSocket
  sent: number
  welcomed: boolean
  /** Resolves the pending burst probe: the master answers a second hello with an error frame, in frame order. */
  probe?: () => void
  timer?: NodeJS.Timeout
}

const agents: SimAgent[] = []
let closing = false
const counters = { commands: 0, badFrames: 0, errorFrames: 0, dropped: 0 }

function send(msg: FromWorker) {
  process.send?.(msg)
}

function sendMetrics(a: SimAgent) {
  if (a.ws.readyState !== WebSocket.OPEN) return
  a.sent++
  a.ws.send(metricsFrameText(Date.now(), a.sent))
}

async function answerCommand(a: SimAgent, frame: CommandFrame) {
  counters.commands++
  a.ws.send(JSON.stringify({ kind: 'ack', id: frame.id }))
  const data = await simulateCommand(frame)
  const result =
    data === undefined
      ? {
          kind: 'result',
          id: frame.id,
          ok: false,
          error: { code: 'UNSUPPORTED', message: `the simulator does not run ${frame.type}` },
        }
      : { kind: 'result', id: frame.id, ok: true, data }
  if (a.ws.readyState === WebSocket.OPEN) a.ws.send(JSON.stringify(result))
}

/** Opens one agent connection; resolves true once welcomed, false on any failure (the reason is counted). */
function connectOne(
  url: string,
  id: SimIdentity,
  localAddress: string,
  timeoutMs: number,
  errors: Record<string, number>,
): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${id.secret}` },
      localAddress,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    })
    const a: SimAgent = { id, ws, sent: 0, welcomed: false }
    let settled = false
    const settle = (ok: boolean, reason?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (!ok) {
        errors[reason ?? 'unknown'] = (errors[reason ?? 'unknown'] ?? 0) + 1
        ws.terminate()
      }
      resolve(ok)
    }
    const timer = setTimeout(() => settle(false, 'no welcome in time'), timeoutMs)
    ws.on('open', () => ws.send(helloFrameText(id.serverId)))
    ws.on('unexpected-response', (_req, res) => settle(false, `HTTP ${res.statusCode}`))
    ws.on('error', (err: NodeJS.ErrnoException) => settle(false, err.code ?? err.message))
    ws.on('close', (code) => {
      if (!settled) return settle(false, `closed ${code} before welcome`)
      if (a.welcomed && !closing) counters.dropped++
      clearTimeout(a.timer)
    })
    ws.on('message', (data) => {
      const parsed = parseMasterFrame(data.toString())
      if (!parsed.ok) return void counters.badFrames++
      const frame = parsed.frame
      if (frame.kind === 'welcome') {
        a.welcomed = true
        agents.push(a)
        return settle(true)
      }
      if (frame.kind === 'command') return void answerCommand(a, frame).catch(() => counters.badFrames++)
      if (frame.kind === 'error') {
        if (a.probe) return a.probe()
        counters.errorFrames++
      }
      // 'ack' of a result: nothing to do, the simulator keeps no journal.
    })
  })
}

async function connect(msg: Extract<ToWorker, { type: 'connect' }>): Promise<ConnectReport> {
  const errors: Record<string, number> = {}
  let ok = 0
  let lastWelcome = 0
  const firstStart = now()
  // Waves keep the SYN backlog (somaxconn 4096, listen backlog 511) from overflowing and the master's auth queue short.
  for (let i = 0; i < msg.agents.length; i += msg.wave) {
    const wave = msg.agents.slice(i, i + msg.wave)
    const results = await Promise.all(
      wave.map((id, k) =>
        connectOne(msg.url, id, msg.localAddresses[(i + k) % msg.localAddresses.length]!, msg.timeoutMs, errors),
      ),
    )
    const welcomed = results.filter(Boolean).length
    ok += welcomed
    if (welcomed) lastWelcome = now()
  }
  return { type: 'connected', ok, failed: msg.agents.length - ok, firstStart, lastWelcome, errors }
}

function stream(on: boolean, intervalMs: number) {
  for (const a of agents) {
    clearTimeout(a.timer)
    if (!on) continue
    // Random phase, then ±10 % jitter: real agents started at different times never send in lockstep.
    const tick = () => {
      sendMetrics(a)
      a.timer = setTimeout(tick, intervalMs * (0.9 + Math.random() * 0.2))
    }
    a.timer = setTimeout(tick, Math.random() * intervalMs)
  }
}

async function burst(frames: number, timeoutMs: number): Promise<BurstReport> {
  const open = agents.filter((a) => a.ws.readyState === WebSocket.OPEN)
  const sentBefore = open.reduce((n, a) => n + a.sent, 0)
  const start = now()
  let end = start
  const answers = open.map(
    (a) =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          a.probe = undefined
          resolve(false)
        }, timeoutMs)
        a.probe = () => {
          clearTimeout(t)
          a.probe = undefined
          end = now()
          resolve(true)
        }
      }),
  )
  for (const a of open) {
    for (let i = 0; i < frames; i++) sendMetrics(a)
    // A second hello is refused with an error frame only after the frames before it were handled (the hub handles
    // each connection's frames in order), so its answer marks "everything sent so far is ingested".
    a.ws.send(helloFrameText(a.id.serverId))
  }
  const answered = (await Promise.all(answers)).filter(Boolean).length
  return { type: 'burst-done', sent: open.reduce((n, a) => n + a.sent, 0) - sentBefore, answered, start, end }
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage()
  return {
    type: 'stats',
    open: agents.filter((a) => a.ws.readyState === WebSocket.OPEN).length,
    sent: agents.reduce((n, a) => n + a.sent, 0),
    ...counters,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssMiB: Math.round(process.memoryUsage.rss() / 104857.6) / 10,
  }
}

async function closeAll() {
  closing = true
  await Promise.all(
    agents.map(
      (a) =>
        new Promise<void>((resolve) => {
          clearTimeout(a.timer)
          if (a.ws.readyState === WebSocket.CLOSED) return resolve()
          const t = setTimeout(() => {
            a.ws.terminate()
            resolve()
          }, 5_000)
          a.ws.once('close', () => {
            clearTimeout(t)
            resolve()
          })
          a.ws.close(1000, 'bench done')
        }),
    ),
  )
  agents.length = 0
  closing = false
  counters.dropped = 0
}

process.on('message', (msg: ToWorker) => {
  const run = async (): Promise<FromWorker> => {
    switch (msg.type) {
      case 'connect':
        return connect(msg)
      case 'stream':
        stream(msg.on, msg.intervalMs)
        return { type: 'streaming' }
      case 'burst':
        return burst(msg.frames, msg.timeoutMs)
      case 'stats':
        return stats()
      case 'close':
        await closeAll()
        return { type: 'closed' }
    }
  }
  run().then(send, (err: unknown) => {
    process.stderr.write(`sim worker: ${String(err)}\n`)
    process.exit(1)
  })
})
// The bench is gone (finished, crashed or killed): nothing left to simulate for.
process.on('disconnect', () => process.exit(0))
