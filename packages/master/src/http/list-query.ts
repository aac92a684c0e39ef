import { z } from '@hono/zod-openapi'

/** Page sizes: default and ceiling, so a client cannot ask for the whole table at once. */
export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 500

const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))

/**
 * Builds the strict query schema of a list endpoint: page[number], page[size], sort over the given fields, and the
 * given filter[...] parameters. Unknown parameters are refused (400) rather than silently ignored.
 */
export function listQuerySchema<F extends Record<string, z.ZodType>>(opts: {
  sortable: readonly string[]
  filters: F
}) {
  const sortField = opts.sortable.join('|')
  const sortPattern = new RegExp(`^-?(${sortField})(,-?(${sortField}))*$`)
  const filterShape = Object.fromEntries(Object.entries(opts.filters).map(([k, v]) => [`filter[${k}]`, v.optional()]))
  return z.strictObject({
    'page[number]': positiveInt(1_000_000).optional(),
    'page[size]': positiveInt(MAX_PAGE_SIZE).optional(),
    sort: z
      .string()
      .regex(sortPattern, `sort by ${opts.sortable.join(', ')} (prefix - for descending)`)
      .optional(),
    ...filterShape,
  } as {
    'page[number]': z.ZodOptional<ReturnType<typeof positiveInt>>
    'page[size]': z.ZodOptional<ReturnType<typeof positiveInt>>
    sort: z.ZodOptional<z.ZodString>
  } & { [K in keyof F as `filter[${string & K}]`]: z.ZodOptional<F[K]> })
}

/** Parsed sort spec: [{field, desc}]. */
export function parseSort(sort: string | undefined, fallback: string): { field: string; desc: boolean }[] {
  return (sort ?? fallback)
    .split(',')
    .map((s) => (s.startsWith('-') ? { field: s.slice(1), desc: true } : { field: s, desc: false }))
}

/** Page from the parsed query. */
export function pageOf(q: { 'page[number]'?: number; 'page[size]'?: number }) {
  return { number: q['page[number]'] ?? 1, size: q['page[size]'] ?? DEFAULT_PAGE_SIZE }
}
