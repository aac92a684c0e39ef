// The rules of JSON:API 1.1 (https://jsonapi.org/format/1.1/) that a response document must follow, checked on every
// JSON:API answer the tests read. Attribute values are opaque beyond the spec's own rules for them.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a document is checked member by member
type Json = any

const TOP = new Set(['data', 'errors', 'meta', 'jsonapi', 'links', 'included'])
const RESOURCE = new Set(['type', 'id', 'lid', 'attributes', 'relationships', 'links', 'meta'])
const RELATIONSHIP = new Set(['links', 'data', 'meta'])
const ERROR = new Set(['id', 'links', 'status', 'code', 'title', 'detail', 'source', 'meta'])
const SOURCE = new Set(['pointer', 'parameter', 'header'])
/** Allowed member names: letters, digits, and "-" or "_" inside (the spec's globally allowed characters). */
const MEMBER = /^[a-zA-Z0-9](?:[a-zA-Z0-9_-]*[a-zA-Z0-9])?$/

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The spec's rules a document breaks, as readable paths; empty when it follows them. */
export function jsonApiViolations(doc: Json): string[] {
  const out: string[] = []
  const fail = (path: string, why: string) => out.push(`${path}: ${why}`)
  const only = (path: string, v: Record<string, Json>, allowed: Set<string>) => {
    for (const k of Object.keys(v)) if (!allowed.has(k)) fail(path, `member "${k}" is not allowed here`)
  }
  const link = (path: string, v: Json) => {
    if (v === null || typeof v === 'string') return
    if (!isObject(v) || typeof v.href !== 'string') fail(path, 'a link is a string, null or an object with href')
  }
  const links = (path: string, v: Json) => {
    if (!isObject(v)) return fail(path, 'links must be an object')
    for (const [k, l] of Object.entries(v)) link(`${path}.${k}`, l)
  }
  const meta = (path: string, v: Json) => {
    if (!isObject(v)) fail(path, 'meta must be an object')
  }
  /** Complex attribute values must not hold "relationships" or "links" members, at any depth. */
  const noReserved = (path: string, v: Json) => {
    if (Array.isArray(v)) return v.forEach((x, i) => noReserved(`${path}[${i}]`, x))
    if (!isObject(v)) return
    for (const [k, x] of Object.entries(v)) {
      if (k === 'relationships' || k === 'links') fail(`${path}.${k}`, 'a complex attribute holds a reserved member')
      noReserved(`${path}.${k}`, x)
    }
  }
  const linkage = (path: string, v: Json) => {
    if (!isObject(v) || typeof v.type !== 'string' || typeof v.id !== 'string')
      return fail(path, 'resource linkage needs string type and id')
    only(path, v, new Set(['type', 'id', 'lid', 'meta']))
  }
  const resource = (path: string, r: Json, refs: Set<string>) => {
    if (!isObject(r)) return fail(path, 'a resource object must be an object')
    only(path, r, RESOURCE)
    if (typeof r.type !== 'string' || !r.type) fail(path, 'type must be a non-empty string')
    if (typeof r.id !== 'string' || !r.id) fail(path, 'id must be a non-empty string in a response')
    const fields = new Set<string>()
    if (r.attributes !== undefined) {
      if (!isObject(r.attributes)) fail(`${path}.attributes`, 'attributes must be an object')
      else
        for (const [k, v] of Object.entries(r.attributes)) {
          if (k === 'type' || k === 'id') fail(`${path}.attributes.${k}`, 'a field may not be named type or id')
          if (k === 'relationships' || k === 'links') fail(`${path}.attributes.${k}`, 'reserved member in attributes')
          if (!MEMBER.test(k)) fail(`${path}.attributes.${k}`, 'not a valid member name')
          noReserved(`${path}.attributes.${k}`, v)
          fields.add(k)
        }
    }
    if (r.relationships !== undefined) {
      if (!isObject(r.relationships)) fail(`${path}.relationships`, 'relationships must be an object')
      else
        for (const [k, rel] of Object.entries(r.relationships)) {
          const p = `${path}.relationships.${k}`
          if (k === 'type' || k === 'id') fail(p, 'a field may not be named type or id')
          if (fields.has(k)) fail(p, 'attributes and relationships share one namespace')
          if (!MEMBER.test(k)) fail(p, 'not a valid member name')
          if (!isObject(rel)) {
            fail(p, 'a relationship must be an object')
            continue
          }
          only(p, rel, RELATIONSHIP)
          if (!('links' in rel) && !('data' in rel) && !('meta' in rel)) fail(p, 'needs links, data or meta')
          if (rel.links !== undefined) links(`${p}.links`, rel.links)
          if (rel.meta !== undefined) meta(`${p}.meta`, rel.meta)
          if (Array.isArray(rel.data))
            rel.data.forEach((d: Json, i: number) => {
              linkage(`${p}.data[${i}]`, d)
              refs.add(`${d?.type}/${d?.id}`)
            })
          else if (rel.data !== null && rel.data !== undefined) {
            linkage(`${p}.data`, rel.data)
            refs.add(`${rel.data?.type}/${rel.data?.id}`)
          }
        }
    }
    if (r.links !== undefined) links(`${path}.links`, r.links)
    if (r.meta !== undefined) meta(`${path}.meta`, r.meta)
  }

  if (!isObject(doc)) return ['document: must be a JSON object']
  only('document', doc, TOP)
  if (!('data' in doc) && !('errors' in doc) && !('meta' in doc)) fail('document', 'needs data, errors or meta')
  if ('data' in doc && 'errors' in doc) fail('document', 'data and errors must not coexist')
  if ('included' in doc && !('data' in doc)) fail('document', 'included needs data')
  if (doc.jsonapi !== undefined) {
    if (!isObject(doc.jsonapi)) fail('jsonapi', 'must be an object')
    else if (doc.jsonapi.version !== undefined && typeof doc.jsonapi.version !== 'string')
      fail('jsonapi.version', 'must be a string')
  }
  if (doc.links !== undefined) links('links', doc.links)
  if (doc.meta !== undefined) meta('meta', doc.meta)
  const refs = new Set<string>()
  const seen = new Set<string>()
  const primary = Array.isArray(doc.data) ? doc.data : doc.data === null || doc.data === undefined ? [] : [doc.data]
  if ('data' in doc && doc.data !== null && !isObject(doc.data) && !Array.isArray(doc.data))
    fail('data', 'must be null, a resource object or an array of them')
  primary.forEach((r: Json, i: number) => {
    resource(Array.isArray(doc.data) ? `data[${i}]` : 'data', r, refs)
    const key = `${r?.type}/${r?.id}`
    if (seen.has(key)) fail('data', `${key} appears twice`)
    seen.add(key)
  })
  if (doc.included !== undefined) {
    if (!Array.isArray(doc.included)) fail('included', 'must be an array')
    else {
      doc.included.forEach((r: Json, i: number) => resource(`included[${i}]`, r, refs))
      doc.included.forEach((r: Json, i: number) => {
        const key = `${r?.type}/${r?.id}`
        if (seen.has(key)) fail(`included[${i}]`, `${key} appears twice`)
        seen.add(key)
        // Full linkage: every included resource is reached from the primary data or another included one.
        if (!refs.has(key)) fail(`included[${i}]`, `${key} is not referenced by any relationship`)
      })
    }
  }
  if (doc.errors !== undefined) {
    if (!Array.isArray(doc.errors) || doc.errors.length === 0) fail('errors', 'must be a non-empty array')
    else
      doc.errors.forEach((e: Json, i: number) => {
        const p = `errors[${i}]`
        if (!isObject(e)) return fail(p, 'an error must be an object')
        only(p, e, ERROR)
        for (const k of ['id', 'status', 'code', 'title', 'detail'])
          if (e[k] !== undefined && typeof e[k] !== 'string') fail(`${p}.${k}`, 'must be a string')
        if (e.source !== undefined) {
          if (!isObject(e.source)) fail(`${p}.source`, 'must be an object')
          else {
            only(`${p}.source`, e.source, SOURCE)
            if (e.source.pointer !== undefined && !/^(\/|$)/.test(String(e.source.pointer)))
              fail(`${p}.source.pointer`, 'must be a JSON pointer')
          }
        }
        if (e.links !== undefined) links(`${p}.links`, e.links)
        if (e.meta !== undefined) meta(`${p}.meta`, e.meta)
      })
  }
  return out
}

/** Throws with every violation when a JSON:API answer breaks the spec (other media types are not checked). */
export function checkJsonApiResponse(what: string, contentType: string | null, body: Json): void {
  if (!contentType?.startsWith('application/vnd.api+json') || body === undefined) return
  const violations = jsonApiViolations(body)
  if (violations.length)
    throw new Error(`${what} answered a document that breaks JSON:API:\n  ${violations.join('\n  ')}`)
}
