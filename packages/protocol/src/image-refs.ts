import { matches, ruledString } from './string-rules.ts'

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
// Docker's path-component grammar: lower-case alphanumerics joined by ".", "_", "__" or runs of "-".
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)

/** An image tag (Docker's grammar): it names a version and lands in argv and labels, so never a leading "-" or ".". */
export const imageTagSchema = ruledString(128, [
  matches(TAG, 'a tag is 1–128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"'),
])

function splitRef(value: string): [name: string, tag: string | undefined] {
  const colon = value.lastIndexOf(':')
  return colon === -1 ? [value, undefined] : [value.slice(0, colon), value.slice(colon + 1)]
}

/** True when the first path component would make Docker reach for a registry (a dot, a port or "localhost"). */
function namesRegistry(name: string): boolean {
  const slash = name.indexOf('/')
  if (slash === -1) return false
  const first = name.slice(0, slash)
  return first.includes('.') || first === 'localhost'
}

/**
 * An image reference `name[:tag]` built and kept on the server (there is no registry): lower-case Docker path
 * components, no registry host, no digest, so it can only name a local image and never reads as an option.
 */
export const imageRefSchema = ruledString(384, [
  [
    (value) => splitRef(value)[0].length <= 255 && NAME.test(splitRef(value)[0]),
    'an image name is lower-case path components such as alfa/mol',
  ],
  [(value) => !namesRegistry(splitRef(value)[0]), 'an image name must not name a registry host'],
  [
    (value) => {
      const tag = splitRef(value)[1]
      return tag === undefined || TAG.test(tag)
    },
    'the tag after ":" is not a valid tag',
  ],
])

/** The tag of an image reference (its version part), or null when it has none: `alfa/mol:1.2-master` → `1.2-master`. */
export function imageTag(ref: string): string | null {
  return splitRef(ref)[1] ?? null
}
