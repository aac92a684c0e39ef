import type { Prisma } from '../generated/prisma/client.ts'

/**
 * A client deleted for good gives its slug and domain up for a new customer (the same lab signing up again, or
 * another one): its record stays, with its operations, letters and expiry history, renamed `<slug>~<first 8 of its
 * id>` and `<domain>~<…>` so the two never mix ("~" is in no valid slug or domain). Only `deleted` rows: a failed
 * create is retried on its own row, and a slug whose delete failed stays held (slug_leftover) until it is deleted.
 * Runs in the create's (or the copy's) transaction, under the slug's lock.
 */
export async function releaseDeletedHolders(tx: Prisma.TransactionClient, slug: string, domain: string) {
  const holders = await tx.client.findMany({ where: { status: 'deleted', OR: [{ slug }, { domain }] } })
  for (const h of holders) {
    const tag = `~${h.id.slice(0, 8)}`
    await tx.client.update({
      where: { id: h.id },
      data: {
        slug: h.slug.includes('~') ? h.slug : h.slug + tag,
        domain: h.domain.includes('~') ? h.domain : h.domain + tag,
      },
    })
  }
}
