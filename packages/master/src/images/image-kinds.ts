import { commandKind } from '../operations/kind-spec.ts'

/**
 * The operation kinds of the image lifecycle, spread into OPERATION_KINDS. A build is exclusive on its server: a
 * second build would fight the first over the checkout and the CPU (and a reboot would kill it). A prune is not:
 * the agent re-checks usage right before each removal, so it may run beside anything.
 */
export const IMAGE_KINDS = {
  'image.build': commandKind({
    target: 'server',
    exclusive: true,
    command: 'image.build',
    steps: [],
    // A built image is recorded with everything the build knows: version, channel, commit, branch, size, operation.
    async onSuccess(ctx, op, _payload, r) {
      if (!op.serverId) return
      const fields = {
        version: r.version,
        channel: r.channel,
        gitCommit: r.commit,
        branch: r.branch,
        sizeBytes: BigInt(r.sizeBytes),
        builtAt: new Date(r.builtAt),
        // A reused image keeps the operation that really built it.
        ...(r.reused ? {} : { buildOperationId: op.id }),
      }
      await ctx.prisma.image.upsert({
        where: { serverId_ref: { serverId: op.serverId, ref: r.image } },
        create: { serverId: op.serverId, ref: r.image, ...fields, buildOperationId: op.id },
        update: fields,
      })
    },
  }),
  'image.prune': commandKind({
    target: 'server',
    exclusive: false,
    command: 'image.prune',
    steps: [],
    // Removed images leave the records; a dry run changes nothing.
    async onSuccess(ctx, op, _payload, r) {
      if (!op.serverId || r.dryRun) return
      await ctx.prisma.image.deleteMany({ where: { serverId: op.serverId, ref: { in: r.removed.map((x) => x.ref) } } })
    },
  }),
} as const
