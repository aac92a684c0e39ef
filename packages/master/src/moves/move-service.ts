import type { Logger } from 'pino'
import { domainSchema, MOVE_FEATURES, slugSchema } from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { Clock } from '../clock.ts'
import type { ProfileResolver } from '../clients/app-profiles.ts'
import type { ExpiryCalendar } from '../clients/expiry-calendar.ts'
import { AgentOffline, Conflict, Invalid, NotFound } from '../errors.ts'
import type { Operation, Prisma, PrismaClient } from '../generated/prisma/client.ts'
import { lockKeyOf } from '../operations/kind-spec.ts'
import { assertIdle } from '../operations/operation-begin.ts'
import type { MASTER_RUN_KINDS } from '../operations/operation-kinds.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { TransferRelay } from '../transfers/transfer-relay.ts'
import { COPY_STEPS, runCopy } from './copy-run.ts'
import { MOVE_STEPS, runMove } from './move-run.ts'
import { recordTransfer, type MoveFacts } from './move-facts.ts'
import { createMoveRecovery } from './move-recovery.ts'
import { createStepTools, StepFailed } from './move-steps.ts'
import { releaseDeletedHolders } from '../clients/deleted-holders.ts'

const param = (name: string, detail: string) => ({ parameter: name, detail, code: 'invalid_parameter' })

/**
 * move_to and copy_to: validated and recorded here (a `client.move` / `client.copy` operation, exclusive on the
 * client, started under its advisory lock like every other), then run step by step in this process.
 */
export function createMoveService(deps: {
  prisma: PrismaClient
  hub: AgentHub
  transfers: TransferRelay
  operations: OperationService
  profiles: ProfileResolver
  calendar: ExpiryCalendar
  clock: Clock
  logger: Logger
  forwardHours: number
  /** How long an undo or cleanup waits for an agent that is away (ALFA_MOVE_AGENT_WAIT_MS). */
  agentWaitMs: number
}) {
  const { prisma } = deps
  const log = deps.logger.child({ component: 'moves' })

  async function load(clientId: string, serverId: string) {
    const client = await prisma.client.findUnique({ where: { id: clientId } })
    if (!client || client.status === 'deleted') throw new NotFound('client', clientId)
    if (client.status !== 'active')
      throw new Conflict(`client ${client.slug} is ${client.status}, not active`, 'client_not_active')
    const target = await prisma.server.findUnique({ where: { id: serverId } })
    if (!target) throw new NotFound('server', serverId)
    const source = await prisma.server.findUniqueOrThrow({ where: { id: client.serverId } })
    for (const s of [source, target]) if (!deps.hub.isOnline(s.id)) throw new AgentOffline(s.id)
    // Refused before anything starts: an older agent would refuse the new payload fields after the freeze.
    for (const s of [source, target]) {
      const missing = MOVE_FEATURES.filter((feature) => !deps.hub.announces(s.id, feature))
      if (missing.length > 0)
        throw new Conflict(
          `the agent on ${s.name} is older than this master (it does not announce ${missing.join(', ')}): upgrade it first`,
          'agent_outdated',
          { serverId: s.id, missing },
        )
    }
    return { client, source, target }
  }

  /** Inserts the operation under the client's lock, refusing while another exclusive one runs on it. */
  async function record(
    kind: (typeof MASTER_RUN_KINDS)[number],
    lock: string,
    row: { serverId: string; clientId: string; requestedBy: string; steps: readonly string[]; facts: MoveFacts },
    change?: (tx: Prisma.TransactionClient) => Promise<unknown>,
  ): Promise<Operation> {
    return prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${lock}))`
      await assertIdle(tx, { kind: 'client', clientId: row.clientId, serverId: row.serverId })
      await change?.(tx)
      return tx.operation.create({
        data: {
          kind,
          status: 'running',
          serverId: row.serverId,
          clientId: row.clientId,
          requestedBy: row.requestedBy,
          steps: row.steps.map((name) => ({ name, status: 'pending' })),
          recovery: row.facts,
          startedAt: deps.clock.now(),
        },
      })
    })
  }

  /** Runs a recorded operation in the background until it ends, whatever happens. */
  function launch(op: Operation, work: (tools: ReturnType<typeof createStepTools>) => Promise<unknown>) {
    const tools = createStepTools({
      ...deps,
      operationId: op.id,
      onTransferOpened: (id) => recordTransfer(prisma, op.id, id),
    })
    void (async () => {
      try {
        const result = await work(tools)
        await deps.operations.finish(op.id, { status: 'succeeded', result })
      } catch (error) {
        const failed = error instanceof StepFailed ? error : new StepFailed('internal', 'INTERNAL', String(error))
        log.warn({ err: error, operationId: op.id }, `${op.kind} failed`)
        await deps.operations.finish(op.id, {
          status: 'failed',
          error: { code: failed.code, message: failed.message, data: { step: failed.step } },
        })
      }
    })().catch((err: unknown) => log.error({ err, operationId: op.id }, 'ending a move failed'))
  }

  const recovery = createMoveRecovery(deps)

  return {
    /** At master start: moves and copies the last run left running are finished or undone (move-recovery.ts). */
    recoverAtStart: recovery.recoverAtStart,

    /** move_to: the client with its data to another server of any role; the record follows once verified. */
    async move(clientId: string, serverId: string, requestedBy: string): Promise<Operation> {
      const { client, source, target } = await load(clientId, serverId)
      if (target.id === source.id) throw new Conflict(`${client.slug} is already on ${target.name}`, 'same_server')
      const op = await record('client.move', lockKeyOf.client(client.slug), {
        serverId: source.id,
        clientId: client.id,
        requestedBy,
        steps: MOVE_STEPS,
        facts: { targetServerId: target.id, transfers: [] },
      })
      launch(op, (tools) => runMove(deps, tools, op.id, client, source, target))
      return op
    },

    /** copy_to: a new client on a stage server from the origin's data; the origin is never frozen or changed. */
    async copy(
      clientId: string,
      serverId: string,
      opts: { slug?: string; domain?: string },
      requestedBy: string,
    ): Promise<Operation> {
      const { client: origin, source, target } = await load(clientId, serverId)
      if (target.role !== 'stage')
        throw new Invalid([param('server_id', `copy_to needs a stage server; ${target.name} is ${target.role}`)])
      const slug = opts.slug ?? `${origin.slug}-stage`
      if (!slugSchema.safeParse(slug).success) throw new Invalid([param('slug', `${slug} is not a valid slug`)])
      const domain = opts.domain ?? `${slug}.${target.baseDomain}`
      if (!domainSchema.safeParse(domain).success)
        throw new Invalid([param('domain', `${domain} is not a valid domain`)])
      let copyId = ''
      const op = await record(
        'client.copy',
        lockKeyOf.client(slug),
        {
          serverId: target.id,
          clientId: origin.id,
          requestedBy,
          steps: COPY_STEPS,
          facts: { targetServerId: target.id, transfers: [] },
        },
        async (tx) => {
          await releaseDeletedHolders(tx, slug, domain)
          if (await tx.client.findFirst({ where: { OR: [{ slug }, { domain }] } }))
            throw new Conflict(`slug ${slug} or domain ${domain} is taken`, 'slug_taken')
          const { id: _id, createdAt: _c, updatedAt: _u, ...fields } = origin
          const copy = await tx.client.create({
            data: {
              ...fields,
              slug,
              domain,
              serverId: target.id,
              status: 'creating',
              copiedFromId: origin.id,
              remindersEnabled: false,
              available: null,
              availableCheckedAt: null,
              usersCount: null,
              usersCountAt: null,
            },
          })
          copyId = copy.id
        },
      )
      // The copy's own operation row names the new client.
      const moved = await prisma.operation.update({ where: { id: op.id }, data: { clientId: copyId } })
      const copy = await prisma.client.findUniqueOrThrow({ where: { id: copyId } })
      launch(moved, (tools) => runCopy(deps, tools, moved.id, origin, copy, source, target))
      return moved
    },
  }
}

export type MoveService = ReturnType<typeof createMoveService>
