import type { Context, TypedResponse } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { JSONAPI_MEDIA_TYPE } from './jsonapi.ts'

/**
 * A response the OpenAPI route typing accepts for any declared status. Our documents are built by the JSON:API
 * serialisers (typed there); the route schemas describe them for the OpenAPI document, so the phantom types of
 * zod-openapi's TypedResponse are deliberately left open here rather than restated in every handler.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DocumentResponse = Response & TypedResponse<any, any, any>

/** Sends a JSON:API document with its media type; BigInt values (byte counters) become numbers. */
export function sendDocument(c: Context, doc: unknown, status: ContentfulStatusCode = 200): DocumentResponse {
  c.header('Content-Type', JSONAPI_MEDIA_TYPE)
  return c.body(stringify(doc), status) as DocumentResponse
}

/** JSON text of a document. A replacer slows every stringify down, so it is used only when a BigInt is in there. */
function stringify(doc: unknown): string {
  try {
    return JSON.stringify(doc)
  } catch (err) {
    if (!(err instanceof TypeError)) throw err
    return JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))
  }
}

/** 204 No Content, typed like sendDocument. */
export function sendNoContent(c: Context): DocumentResponse {
  return c.body(null, 204) as DocumentResponse
}
