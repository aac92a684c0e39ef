/** JSON:API 1.1 document helpers: one place that knows the document shape, so routes only hand over resources. */
export const JSONAPI_MEDIA_TYPE = 'application/vnd.api+json'

export interface ResourceObject<A = Record<string, unknown>> {
  type: string
  id: string
  attributes: A
  relationships?: Record<
    string,
    { data: ResourceLinkage | ResourceLinkage[] | null; links?: { related: string }; meta?: Record<string, unknown> }
  >
  links?: { self: string }
  meta?: Record<string, unknown>
}

/** Which resource a relationship points at. */
export interface ResourceLinkage {
  type: string
  id: string
}

export interface ErrorObject {
  status: string
  code: string
  title: string
  detail?: string
  source?: { pointer?: string; parameter?: string; header?: string }
  meta?: Record<string, unknown>
}

export interface Page {
  number: number
  size: number
}

/** A single-resource document, with the related resources it includes (a compound document) when given. */
export function resourceDocument<A>(
  data: ResourceObject<A>,
  meta?: Record<string, unknown>,
  included?: ResourceObject[],
) {
  return {
    jsonapi: { version: '1.1' },
    data,
    ...(included ? { included } : {}),
    ...(meta ? { meta } : {}),
    links: { self: data.links?.self },
  }
}

/** A paginated collection document with first/prev/next/last links and meta.total. */
export function collectionDocument<A>(
  data: ResourceObject<A>[],
  opts: { url: URL; page: Page; total: number; meta?: Record<string, unknown> },
) {
  const { url, page, total } = opts
  const lastNumber = Math.max(1, Math.ceil(total / page.size))
  const link = (n: number) => {
    const u = new URL(url)
    u.searchParams.set('page[number]', String(n))
    u.searchParams.set('page[size]', String(page.size))
    return `${u.pathname}?${u.searchParams.toString()}`
  }
  return {
    jsonapi: { version: '1.1' },
    data,
    meta: { total, page: { number: page.number, size: page.size, last: lastNumber }, ...opts.meta },
    links: {
      self: link(page.number),
      first: link(1),
      prev: page.number > 1 ? link(Math.min(page.number - 1, lastNumber)) : null,
      next: page.number < lastNumber ? link(page.number + 1) : null,
      last: link(lastNumber),
    },
  }
}

/** An error document. */
export function errorDocument(errors: ErrorObject[]) {
  return { jsonapi: { version: '1.1' }, errors }
}
