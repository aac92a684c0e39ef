/** Prisma's error codes we turn into domain errors (the rest are bugs and stay 500). */
export function prismaErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}

/** A unique constraint refused the write (P2002): someone already has this name. */
export const isUniqueViolation = (err: unknown) => prismaErrorCode(err) === 'P2002'
