import type { Client, Server } from '../generated/prisma/client.ts'
import { configureCommand, stageCommand } from './client-commands.ts'
import { carryFiles, verifyFiles } from './move-files.ts'
import { ensureImage, type MoveDeps } from './move-run.ts'
import { confirmServed, dumpSizes, restoreDump, StepFailed, type StepTools } from './move-steps.ts'
import { undoMove } from './move-undo.ts'

export const COPY_STEPS = ['preflight', 'image', 'stage', 'dump', 'files', 'restore', 'verify'] as const

/**
 * copy_to: the origin's data under a new client on a stage server (own slug, domain, database user and passwords,
 * made by the stage server's create). The origin is only read: a consistent dump while it keeps serving, never
 * frozen. A failure removes what was staged (and the transfers' spools) and leaves the copy's record failed.
 */
export async function runCopy(
  deps: MoveDeps,
  tools: StepTools,
  opId: string,
  origin: Client,
  copy: Client,
  source: Server,
  target: Server,
) {
  const { step, ask } = tools
  let staged = false
  try {
    await step('preflight', async () => {
      if (source.dbEngine !== target.dbEngine)
        throw new StepFailed('preflight', 'CONFLICT', `engines differ: ${source.dbEngine} → ${target.dbEngine}`)
      await ask('preflight', target.id, 'server.info', {})
    })
    await step('image', () => ensureImage(tools, copy.image ?? '', source, target))
    await step('stage', async () => {
      staged = true
      await ask('stage', target.id, 'client.create', stageCommand(copy, target, deps.profiles).payload)
    })
    // Loaded on arrival into a fresh database of the copy (its own slug); swapped in by the restore step.
    const dump = await step('dump', () =>
      tools.transfer(
        'dump',
        source.id,
        target.id,
        { kind: 'dump', slug: origin.slug, dbEngine: source.dbEngine },
        // The origin keeps no copy of the dump: a copy leaves it as it was (its disk included).
        { load: { slug: copy.slug, dbEngine: target.dbEngine }, keepCopy: false },
      ),
    )
    // The origin is not frozen: its files as they are at the copy, into the copy's own volumes.
    const files = await step('files', () =>
      carryFiles(
        tools,
        'files',
        { serverId: source.id, clientId: origin.id, slug: origin.slug },
        { serverId: target.id, clientId: copy.id, slug: copy.slug },
        deps.profiles(copy.image ?? '').dataPaths ?? [],
        { keepCopy: false },
      ),
    )
    // No row counts to hold it to: the origin kept writing after its dump; the dump is what the copy holds.
    await step('restore', () => restoreDump(tools, target, copy.slug, dump, undefined))
    await step('verify', async () => {
      await verifyFiles(tools, 'verify', files)
      // The copy's own settings over the origin's (its cloud_settings came with the dump); confirmed through nginx.
      await ask(
        'verify',
        target.id,
        'client.configure',
        configureCommand(copy, target, {}, deps.clock.now(), deps.calendar).payload,
      )
      // The copy serves before it is called made (its app was restarted after the restore).
      await confirmServed(tools, 'verify', target.id, copy, deps.profiles(copy.image ?? '').healthPath)
    })
    await deps.prisma.client.update({
      where: { id: copy.id },
      data: { status: 'active', available: true, availableCheckedAt: deps.clock.now() },
    })
    return {
      copyId: copy.id,
      copiedFrom: origin.id,
      slug: copy.slug,
      domain: copy.domain,
      server: target.id,
      address: target.host,
      sitesPort: target.sitesPort,
      ...dumpSizes(dump),
      files: files.sent.files,
      fileBytes: files.sent.fileBytes,
    }
  } catch (error) {
    // As a move's undo, with nothing frozen: the staged copy and every spool go from the stage server, waiting for
    // its agent if it is away.
    await undoMove(deps, tools, opId, copy, source, target, { staged, frozen: false })
    await deps.prisma.client.update({ where: { id: copy.id }, data: { status: 'failed' } })
    throw error
  }
}
