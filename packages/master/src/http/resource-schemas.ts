import { z } from '@hono/zod-openapi'

/** A JSON:API write document `{data: {type, id?, attributes}}` with strict attributes, for request bodies. */
export function writeDocumentSchema<T extends string, A extends z.ZodType>(type: T, attributes: A) {
  return z.strictObject({
    data: z.strictObject({
      type: z.literal(type),
      /** Present: update the resource with this id; absent: create one (the seed's POST semantics). */
      id: z.uuid().optional(),
      attributes,
    }),
  })
}

/** The response shape of a single resource, for the OpenAPI document. */
export function resourceDocumentSchema<A extends z.ZodType>(type: string, attributes: A) {
  return z.object({
    jsonapi: z.object({ version: z.string() }),
    data: z.object({
      type: z.literal(type),
      id: z.string(),
      attributes,
      links: z.object({ self: z.string() }).optional(),
    }),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
}

/** The response shape of a paginated collection, for the OpenAPI document. */
export function collectionDocumentSchema<A extends z.ZodType>(type: string, attributes: A) {
  return z.object({
    jsonapi: z.object({ version: z.string() }),
    data: z.array(z.object({ type: z.literal(type), id: z.string(), attributes })),
    meta: z.object({
      total: z.number().int(),
      page: z.object({ number: z.number(), size: z.number(), last: z.number() }),
    }),
    links: z.object({
      self: z.string(),
      first: z.string(),
      prev: z.string().nullable(),
      next: z.string().nullable(),
      last: z.string(),
    }),
  })
}

export const errorDocumentSchema = z
  .object({
    jsonapi: z.object({ version: z.string() }),
    errors: z.array(
      z.object({
        status: z.string(),
        code: z.string(),
        title: z.string(),
        detail: z.string().optional(),
        source: z.object({ pointer: z.string().optional(), parameter: z.string().optional() }).optional(),
        meta: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
  })
  .openapi('Errors')

/** Error responses every authenticated route may give. */
export const commonErrorResponses = {
  400: {
    description: 'Malformed query or path parameter',
    content: { 'application/vnd.api+json': { schema: errorDocumentSchema } },
  },
  401: {
    description: 'Missing or wrong credentials',
    content: { 'application/vnd.api+json': { schema: errorDocumentSchema } },
  },
  429: {
    description: 'Too many failed logins (see Retry-After)',
    content: { 'application/vnd.api+json': { schema: errorDocumentSchema } },
  },
} as const

export const idParamSchema = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) })
