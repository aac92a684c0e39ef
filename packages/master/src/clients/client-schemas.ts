import { z } from '@hono/zod-openapi'
import { domainSchema, emailSchema, imageRefSchema, isoDateSchema, slugSchema } from '@alfa/protocol'
import { MAX_PASSWORD_LENGTH } from '../auth/password-policy.ts'
import { listQuerySchema } from '../http/list-query.ts'
import { writeDocumentSchema } from '../http/resource-schemas.ts'

/** Human text (names): no control characters, so it is safe in logs, letters and HTML. */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]+$/u, 'no control characters')
/** Domains and e-mails are matched case-insensitively: lower-case them before the strict check. */
const lower = <S extends z.ZodType<unknown, string>>(schema: S) =>
  z
    .string()
    .max(300)
    .transform((v) => v.trim().toLowerCase())
    .pipe(schema)

/** The owner's login in the app; it reaches an argv template, hence the narrow alphabet (same as the protocol's). */
export const ownerLoginSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}$/, 'letters, digits and . _ @ + - (1–128)')

/** Writable client attributes; a create checks the required ones, an update refuses the create-only ones. */
export const clientWritableAttributes = z
  .strictObject({
    /** The laboratory's name as the Mol admin shows it. */
    name: text(200),
    /** Names the container, database and site; immutable after create. */
    slug: slugSchema,
    /** The client's domain; `<slug>.<server baseDomain>` when absent. */
    domain: lower(domainSchema),
    /** Server to place the client on; the least loaded active server when absent. Immutable (use move_to). */
    server: z.uuid(),
    /** Local image the client runs; immutable here (use switch). */
    image: imageRefSchema,
    /** The laboratory administrator's login in the app. */
    ownerLogin: ownerLoginSchema,
    /** Where send_success goes. */
    ownerEmail: lower(emailSchema),
    /** Create only: the administrator's initial password (stored encrypted, never returned). */
    ownerPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
    /** Where expiry letters go when set (else ownerEmail). */
    contactEmail: lower(emailSchema).nullable(),
    /** Language of the letters. */
    language: z.enum(['ru', 'en']),
    /** Last day the system may be used (YYYY-MM-DD); null for no end. */
    expireDate: isoDateSchema.nullable(),
    /** Show "turbostart" on launch (cloud_settings). */
    turbostart: z.boolean(),
    /** Ask the short-tutorial question (cloud_settings). */
    tutorial: z.boolean(),
    /** Container memory limit in MiB. */
    memoryLimitMb: z.number().int().min(64).max(1_048_576).nullable(),
    /** Container CPU limit in cores. */
    cpuLimit: z.number().positive().max(256).nullable(),
  })
  .partial()

export type ClientWrite = z.infer<typeof clientWritableAttributes>

export const clientWriteDocument = writeDocumentSchema('clients', clientWritableAttributes).openapi('ClientWrite')

export const CLIENT_SORTABLE = ['name', 'slug', 'domain', 'createdAt', 'expireDate', 'status'] as const

export const clientListQuery = listQuerySchema({
  sortable: CLIENT_SORTABLE,
  filters: {
    server: z.uuid(),
    status: z.enum(['creating', 'active', 'failed', 'deleting', 'deleted', 'all']),
    /** Substring of name, slug, domain or e-mail. */
    q: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[^\p{Cc}]+$/u, 'no control characters'),
  },
})

export const clientAttributesSchema = z.object({
  name: z.string(),
  slug: z.string(),
  domain: z.string(),
  /** The client's cloud as visitors reach it; null once the client is deleted for good (its site is gone). */
  url: z.string().nullable(),
  status: z.string(),
  serverId: z.string(),
  image: z.string().nullable(),
  version: z.string().nullable(),
  ownerLogin: z.string(),
  ownerEmail: z.string(),
  contactEmail: z.string().nullable(),
  language: z.string(),
  expireDate: z.string().nullable(),
  maintenance: z.boolean(),
  demo: z.boolean(),
  turbostart: z.boolean(),
  tutorial: z.boolean(),
  memoryLimitMb: z.number().nullable(),
  cpuLimit: z.number().nullable(),
  available: z.boolean().nullable(),
  availableCheckedAt: z.string().nullable(),
  usersCount: z.number().nullable(),
  usersCountAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deletedAt: z.string().nullable(),
})
