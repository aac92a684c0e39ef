import { imageTag, TestSleepPayload } from '@alfa/protocol'
import { z } from 'zod'
import type { Prisma } from '../generated/prisma/client.ts'
import { IMAGE_KINDS } from '../images/image-kinds.ts'
import { FLEET_KINDS } from '../fleet/fleet-kinds.ts'
import { recordImages } from '../images/image-record.ts'
import type { KindContext } from './kind-context.ts'
import { commandKind, lockKeyOf, parentKind } from './kind-spec.ts'

/** The steps of a create, in the order the agent runs them. */
export const CREATE_STEPS = ['database', 'container', 'nginx', 'tls', 'settings', 'migrate', 'owner', 'health'] as const

/** An update of the operation's client once its command succeeded. */
const setClient = (ctx: KindContext, clientId: string | null, data: Prisma.ClientUpdateInput) =>
  clientId ? ctx.prisma.client.update({ where: { id: clientId }, data }).then(() => undefined) : Promise.resolve()

const client = { target: 'client', exclusive: true, steps: [] } as const

/** A client.configure that writes the record's settings: it records the expiry page it applied (expire_date, …). */
const configureAsRecorded = commandKind({
  ...client,
  command: 'client.configure',
  onSuccess: (ctx, op, payload) => setClient(ctx, op.clientId, { expiryBlocked: payload.expired }),
})

/** One planned test.sleep child of a test.batch parent. */
const TestBatchItem = z.object({ serverId: z.uuid(), sleep: TestSleepPayload })

/**
 * Every kind of operation the master runs, in one closed table: which command it sends, what it targets, whether it
 * excludes others on that target, its steps, and what the record does with the outcome. Handlers run wherever the
 * outcome arrives (also after a restart, or late), so they read only the operation row and its command.
 */
export const OPERATION_KINDS = {
  'client.create': commandKind({
    ...client,
    command: 'client.create',
    steps: CREATE_STEPS,
    async onSuccess(ctx, op, payload, result) {
      // The version the agent read from the image (its alfa.version label, else its tag); an older agent does not
      // say, then the label the server reported for the image, else the tag.
      const image = result.version
        ? undefined
        : await ctx.prisma.image.findFirst({ where: { serverId: op.serverId ?? undefined, ref: payload.image } })
      const now = ctx.clock.now()
      const version = result.version ?? image?.version ?? imageTag(payload.image)
      await setClient(ctx, op.clientId, { status: 'active', available: true, availableCheckedAt: now, version })
      if (op.clientId) ctx.refreshClient(op.clientId)
    },
    onFailure: (ctx, op) =>
      setClient(ctx, op.clientId, { status: 'failed', available: false, availableCheckedAt: ctx.clock.now() }),
  }),
  'client.delete': commandKind({
    ...client,
    command: 'client.delete',
    steps: ['dump', 'container', 'nginx', 'database'],
    onSuccess: (ctx, op) =>
      setClient(ctx, op.clientId, { status: 'deleted', deletedAt: ctx.clock.now(), available: false }),
    // Its slug stays refused for new clients until a delete succeeds (client-create.ts looks for this operation).
    onFailure: (ctx, op) => setClient(ctx, op.clientId, { status: 'failed' }),
  }),
  'client.reboot': commandKind({ ...client, command: 'client.restart' }),
  'client.migrate': commandKind({ ...client, command: 'client.app' }),
  'client.demo_enable': commandKind({
    ...client,
    command: 'client.app',
    onSuccess: (ctx, op) => setClient(ctx, op.clientId, { demo: true }),
  }),
  'client.demo_disable': commandKind({
    ...client,
    command: 'client.app',
    onSuccess: (ctx, op) => setClient(ctx, op.clientId, { demo: false }),
  }),
  'client.maintain_enable': commandKind({
    ...client,
    command: 'client.configure',
    onSuccess: (ctx, op) => setClient(ctx, op.clientId, { maintenance: true }),
  }),
  'client.maintain_disable': commandKind({
    ...client,
    command: 'client.configure',
    onSuccess: (ctx, op) => setClient(ctx, op.clientId, { maintenance: false }),
  }),
  'client.expire_date': configureAsRecorded,
  'client.expiry': configureAsRecorded,
  'client.owner_password': commandKind({
    ...client,
    command: 'client.app',
    // The stored command held the new password sealed; it becomes the client's sealed password.
    onSuccess: (ctx, op, payload) =>
      payload.ownerPassword === undefined
        ? Promise.resolve()
        : setClient(ctx, op.clientId, { ownerPasswordEnc: ctx.secretBox.seal(payload.ownerPassword) }),
  }),
  // An update that changed what the app, nginx or the container shows (turbostart, tutorial, the date, limits).
  'client.settings': configureAsRecorded,
  'client.domain': commandKind({
    ...client,
    command: 'client.configure',
    // The configure also applied the expiry page as the record says (an update may change both).
    onSuccess: (ctx, op, payload) =>
      setClient(ctx, op.clientId, {
        expiryBlocked: payload.expired,
        ...(payload.domain === undefined ? {} : { domain: payload.domain }),
      }),
  }),
  'client.switch': commandKind({
    ...client,
    command: 'client.switch',
    steps: ['snapshot', 'start-new', 'migrate', 'health', 'switch-site', 'settings', 'cleanup'],
    onSuccess: (ctx, op, _payload, result) =>
      setClient(ctx, op.clientId, { image: result.image, version: result.version ?? imageTag(result.image) }),
  }),
  // A fleet deploy's child: the client's configuration recreated from the record (which it does not change).
  'client.deploy': commandKind({
    ...client,
    command: 'client.deploy',
    steps: ['database', 'container', 'nginx', 'flags', 'settings', 'restart', 'health'],
  }),
  // Images the agent reports are recorded, so the client forms can offer them without asking the agent each time.
  // A read-only query: its row is written once, when it ends, with the images (servers/image-list-end.ts); the
  // handler records them when it ends later, after its caller stopped waiting.
  'server.images': commandKind({
    target: 'server',
    exclusive: false,
    command: 'image.list',
    steps: [],
    recordOnEnd: true,
    onSuccess: (ctx, op, _payload, result) =>
      op.serverId ? recordImages(ctx.sql, op.serverId, result.images) : Promise.resolve(),
  }),
  'server.reboot': commandKind({ target: 'server', exclusive: true, command: 'server.reboot', steps: [] }),
  ...IMAGE_KINDS,
  /** A harmless command to hold an operation open in tests (agents announce it only with test commands enabled). */
  'test.sleep': commandKind({ target: 'server', exclusive: false, command: 'test.sleep', steps: ['sleep'] }),
  /** A parent of test.sleep children (POST /test/batch, with ALFA_TEST_OPERATIONS=1): the runner's own test. */
  'test.batch': parentKind({
    target: 'server',
    exclusive: false,
    childKind: 'test.sleep',
    retryInterrupted: true,
    item: TestBatchItem,
    async startChild(ctx, parent, item, index) {
      await ctx.begin({
        kind: 'test.sleep',
        serverId: item.serverId,
        lock: lockKeyOf.server(item.serverId),
        requestedBy: parent.requestedBy ?? 'parent',
        parent: { id: parent.id, index },
        command: { type: 'test.sleep', payload: item.sleep },
      })
    },
  }),
  ...FLEET_KINDS,
} as const

export type OperationKinds = typeof OPERATION_KINDS
export type OperationKind = keyof OperationKinds
/** The kinds that are one agent command. */
export type CommandKind = { [K in OperationKind]: OperationKinds[K]['parent'] extends false ? K : never }[OperationKind]
/** The kinds that are parents of other operations. */
export type ParentKind = Exclude<OperationKind, CommandKind>
/** The command type a command kind sends. */
export type CommandTypeOf<K extends CommandKind> = OperationKinds[K]['command']

export const OPERATION_KIND_NAMES = Object.keys(OPERATION_KINDS) as [OperationKind, ...OperationKind[]]

export function isOperationKind(value: string): value is OperationKind {
  return Object.hasOwn(OPERATION_KINDS, value)
}

/**
 * Kinds the master runs itself step by step, each step an agent request (moves/move-service.ts): no command of
 * their own, exclusive on their client like the rest.
 */
export const MASTER_RUN_KINDS = ['client.move', 'client.copy'] as const

/** Every kind an operation row may have: the table's and the master-run ones (for the API's enums). */
export const ALL_KIND_NAMES = [...OPERATION_KIND_NAMES, ...MASTER_RUN_KINDS] as [string, ...string[]]

/** The kinds that exclude each other on their target, for the check in `begin`. */
export const EXCLUSIVE_KINDS: Record<'client' | 'server', string[]> = {
  client: [
    ...OPERATION_KIND_NAMES.filter((k) => OPERATION_KINDS[k].exclusive && OPERATION_KINDS[k].target === 'client'),
    ...MASTER_RUN_KINDS,
  ],
  server: OPERATION_KIND_NAMES.filter((k) => OPERATION_KINDS[k].exclusive && OPERATION_KINDS[k].target === 'server'),
}

/** The parent kinds, which have no command of their own. */
export const PARENT_KIND_NAMES: string[] = OPERATION_KIND_NAMES.filter((k) => OPERATION_KINDS[k].parent)
