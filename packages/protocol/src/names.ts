import { z } from 'zod'
import { excludes, matches, ruledString } from './string-rules.ts'

/**
 * A client's slug: it becomes a container name, a database name, an nginx file name and a subdomain, so it is held
 * to the narrowest alphabet all four accept, with no "--" (reserved in DNS labels, confusing in names).
 */
export const slugSchema = ruledString(40, [
  matches(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, 'a slug is 3–40 characters of a-z, 0-9 and "-", starting with a letter'),
  excludes('--', 'a slug must not contain "--"'),
])

/** A server's name: the same alphabet as a slug (it names files and containers too) but up to a DNS label's 63. */
export const serverNameSchema = ruledString(63, [
  matches(
    /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/,
    'a server name is 3–63 characters of a-z, 0-9 and "-", starting with a letter',
  ),
  excludes('--', 'a server name must not contain "--"'),
])

/** A database, user or table name: unquoted-safe on both MariaDB and PostgreSQL (63 is PostgreSQL's limit). */
export const dbIdentifierSchema = ruledString(63, [
  matches(/^[a-z_][a-z0-9_]{0,62}$/, 'a database identifier is 1–63 characters of a-z, 0-9 and "_"'),
])

/** An environment variable name for a client container: POSIX-portable, so no tool has to quote it. */
export const envKeySchema = ruledString(64, [
  matches(/^[A-Z_][A-Z0-9_]{0,63}$/, 'an environment name is 1–64 characters of A-Z, 0-9 and "_"'),
])

/** An environment value: passed through the Docker API (never a shell), but NUL would end the C string early. */
export const envValueSchema = z
  .string()
  .max(4096)
  .refine((value) => !value.includes('\0'), 'an environment value must not contain NUL')

/** The client's database (and its user): `alfa_` plus the slug with "-" as "_", injective because slugs have no "_". */
export function dbNameForSlug(slug: string): string {
  return `alfa_${slugSchema.parse(slug).replaceAll('-', '_')}`
}

/** The client's container: `alfa-` plus the slug, so our containers are easy to tell apart from anything else. */
export function containerNameForSlug(slug: string): string {
  return `alfa-${slugSchema.parse(slug)}`
}

/**
 * A directory the app writes its own files to (its data path), absolute or relative to the image's working
 * directory (Laravel: `storage/app`). Plain segments only (no `.`/`..`, no empty segment), so it names a mount
 * point that cannot climb out of where the profile meant.
 */
export const dataPathSchema = ruledString(120, [
  matches(
    /^\/?[a-z0-9_][a-z0-9_.-]{0,63}(?:\/[a-z0-9_][a-z0-9_.-]{0,63}){0,7}$/,
    'a data path is up to 8 segments of a-z, 0-9, "_", "." and "-", separated by "/"',
  ),
  excludes('..', 'a data path must not contain ".."'),
])

/** The key of a data path in volume names and archives: `storage/app` → `storage-app` (also for `/storage/app`). */
export function dataKeyForPath(dataPath: string): string {
  return dataPathSchema.parse(dataPath).replace(/^\//, '').replaceAll('/', '-')
}

/**
 * The Docker volume holding one data path of a client: `alfa-<slug>.<key>`. Slugs have no ".", so the first "."
 * tells slug and key apart (`alfa-a-data.x` can only be slug `a-data`, key `x`).
 */
export function volumeNameForData(slug: string, dataPath: string): string {
  return `alfa-${slugSchema.parse(slug)}.${dataKeyForPath(dataPath)}`
}
