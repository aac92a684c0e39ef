import { z } from '@hono/zod-openapi'
import { domainSchema, hostSchema, portSchema, serverNameSchema } from '@alfa/protocol'
import { listQuerySchema } from '../http/list-query.ts'
import { collectionDocumentSchema, resourceDocumentSchema, writeDocumentSchema } from '../http/resource-schemas.ts'

/** Writable server attributes. All optional here: a create checks the required ones, an update takes any subset. */
export const serverWritableAttributes = z
  .strictObject({
    /** Unique, shell- and path-safe name (used in container labels and logs). */
    name: serverNameSchema,
    /** Hostname or IP address of the machine. */
    host: hostSchema,
    /** Stage servers receive copies of clients (copy_to); production servers host them. */
    role: z.enum(['production', 'stage']),
    /** Only active servers take new clients and appear in GET /servers by default. */
    active: z.boolean(),
    /** Clients get `<slug>.<baseDomain>` unless they bring their own domain. */
    baseDomain: domainSchema,
    /** Database engine the server's clients use. */
    dbEngine: z.enum(['mariadb', 'postgresql']),
    /** Upper bound of clients placed on this server. */
    maxClients: z.number().int().min(0).max(10_000),
    /** Whether certbot issues certificates for the server's client sites. */
    tlsEnabled: z.boolean(),
    /** Port the client sites answer plain HTTP on when not 80 (client URLs carry it); null for 80. */
    sitesPort: portSchema.nullable(),
  })
  .partial()

export const serverWriteDocument = writeDocumentSchema('servers', serverWritableAttributes).openapi('ServerWrite')

export const serverAttributesSchema = z.object({
  name: z.string(),
  host: z.string(),
  role: z.enum(['production', 'stage']),
  active: z.boolean(),
  baseDomain: z.string(),
  dbEngine: z.enum(['mariadb', 'postgresql']),
  maxClients: z.number().int(),
  tlsEnabled: z.boolean(),
  sitesPort: z.number().int().nullable(),
  /** Read-only: whether the server's agent is connected right now. */
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  agentVersion: z.string().nullable(),
  /** Read-only: clients placed on the server (not deleted). */
  clientsCount: z.number().int(),
  /** Read-only: headline load from the latest metrics sample. */
  load: z.object({ cpu: z.number(), load1: z.number(), memUsedPercent: z.number(), at: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const serverDocument = resourceDocumentSchema('servers', serverAttributesSchema).openapi('Server')
export const serverCollectionDocument = collectionDocumentSchema('servers', serverAttributesSchema).openapi(
  'ServerList',
)

export const SERVER_SORTABLE = ['name', 'createdAt', 'role', 'maxClients'] as const

export const serverListQuery = listQuerySchema({
  sortable: SERVER_SORTABLE,
  filters: {
    /** true (default), false, or all. */
    active: z.enum(['true', 'false', 'all']),
    role: z.enum(['production', 'stage']),
    online: z.enum(['true', 'false']),
  },
})
