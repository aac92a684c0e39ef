import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { ProfileResolver } from '../clients/app-profiles.ts'
import type { ExpiryCalendar } from '../clients/expiry-calendar.ts'
import type { Client, PrismaClient, Server } from '../generated/prisma/client.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { configureCommand, stageCommand } from './client-commands.ts'
import { carryFiles, verifyFiles } from './move-files.ts'
import { confirmServed, dumpSizes, restoreDump, StepFailed, type StepTools } from './move-steps.ts'
import { finishMove } from './move-finish.ts'
import { undoMove } from './move-undo.ts'

export const MOVE_STEPS = [
  'preflight',
  'image',
  'stage',
  'freeze',
  'files',
  'dump',
  'restore',
  'verify',
  'record',
  'cleanup',
  'forward',
] as const

/** Least free disk on the target before a move stages anything there. */
const MIN_FREE_BYTES = 512 * 2 ** 20

export interface MoveDeps {
  prisma: PrismaClient
  operations: OperationService
  profiles: ProfileResolver
  calendar: ExpiryCalendar
  clock: Clock
  logger: Logger
  forwardHours: number
  /** Whether an agent is connected: undo and cleanup wait for it. */
  hub: Pick<AgentHub, 'isOnline'>
  /** How long an undo or cleanup step waits for an agent that is away (ALFA_MOVE_AGENT_WAIT_MS). */
  agentWaitMs: number
}

/** Makes sure `image` is on `target`: present already, else `docker save` on the source → relay → `docker load`. */
export async function ensureImage(tools: StepTools, image: string, source: Server, target: Server) {
  const listed = await tools.ask('image', target.id, 'image.list', {})
  if (listed.images.some((i) => i.tags.includes(image))) return void (await tools.log(`${image} is on the target`))
  await tools.log(`${image} is not on the target: transferring it`)
  const t = await tools.transfer('image', source.id, target.id, { kind: 'image', image })
  await tools.ask('image', target.id, 'image.load', { transferId: t.transferId, sha256: t.sent.sha256, image })
}

/**
 * A move of one client to another server, step by step (see MOVE_STEPS). Until the record switches, any failure
 * leaves the client whole on the source: the target's staged client and spool are removed and the source is
 * unfrozen. Downtime runs from the freeze until the target serves the client through its nginx.
 */
export async function runMove(
  deps: MoveDeps,
  tools: StepTools,
  opId: string,
  c: Client,
  source: Server,
  target: Server,
) {
  const { step, ask, log } = tools
  const dataPathsOf = (client: Client) => deps.profiles(client.image ?? '').dataPaths ?? []
  let staged = false
  let frozen = false
  let frozeAt = 0
  let switched = false
  try {
    await step('preflight', async () => {
      if (source.dbEngine !== target.dbEngine)
        throw new StepFailed('preflight', 'CONFLICT', `engines differ: ${source.dbEngine} → ${target.dbEngine}`)
      const info = await ask('preflight', target.id, 'server.info', {})
      if (!info.dbEngines.includes(target.dbEngine))
        throw new StepFailed('preflight', 'UNSUPPORTED', `${target.name} offers no ${target.dbEngine}`)
      const free = Math.max(0, ...info.disk.map((d) => d.total - d.used))
      if (free < MIN_FREE_BYTES)
        throw new StepFailed('preflight', 'NO_ROOM', `${target.name} has ${Math.round(free / 2 ** 20)} MB free`)
      await log(`target ${target.name} online, ${target.dbEngine}, ${Math.round(free / 2 ** 30)} GB free`)
    })
    await step('image', () => ensureImage(tools, c.image ?? '', source, target))
    await step('stage', async () => {
      staged = true
      await ask('stage', target.id, 'client.create', stageCommand(c, target, deps.profiles).payload)
      await log(`${c.slug} staged on ${target.name}: database, container and site answer`)
    })
    await step('freeze', async () => {
      frozeAt = Date.now()
      frozen = true
      const cmd = configureCommand(c, source, { maintenance: true }, deps.clock.now(), deps.calendar)
      await ask('freeze', source.id, 'client.configure', cmd.payload)
      await log(`${c.slug} frozen on ${source.name}: maintenance page served by its nginx`)
    })
    // Frozen: the files are as the source's app left them at the freeze. Carried before the dump, so that the dump,
    // its load on the target and the restore that swaps it in follow one another with nothing in between.
    const ends = { clientId: c.id, slug: c.slug }
    const files = await step('files', () =>
      carryFiles(tools, 'files', { ...ends, serverId: source.id }, { ...ends, serverId: target.id }, dataPathsOf(c)),
    )
    // Dumped, carried and loaded into a fresh database on the target at once; swapped in by the restore step.
    const dump = await step('dump', () => {
      const what = { slug: c.slug, dbEngine: source.dbEngine }
      return tools.transfer('dump', source.id, target.id, { kind: 'dump', ...what }, { load: what, frozen: true })
    })
    await step('restore', () => restoreDump(tools, target, c.slug, dump, dump.sent.rowCounts))
    await step('verify', async () => {
      await verifyFiles(tools, 'verify', files)
      // Also undoes the freeze the dump carried in cloud_settings; confirmed through the target's nginx.
      const cmd = configureCommand(c, target, {}, deps.clock.now(), deps.calendar)
      await ask('verify', target.id, 'client.configure', cmd.payload)
      await confirmServed(tools, 'verify', target.id, c, deps.profiles(c.image ?? '').healthPath)
    })
    const downtimeMs = Date.now() - frozeAt
    await step('record', async () => {
      await deps.prisma.client.update({ where: { id: c.id }, data: { serverId: target.id } })
      switched = true
      await log(`record moved to ${target.name}; downtime ${downtimeMs} ms (freeze → serving on the target)`)
    })
    return await finishMove(deps, tools, c, source, target, {
      downtimeMs,
      dumpFile: dump.sent.file,
      sizes: dumpSizes(dump),
      files: { files: files.sent.files, fileBytes: files.sent.fileBytes },
    })
  } catch (error) {
    // Past the record's switch the target is the client: nothing may be undone there any more.
    if (!switched) await undoMove(deps, tools, opId, c, source, target, { staged, frozen })
    throw error
  }
}
