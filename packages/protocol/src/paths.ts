import { LIMITS } from './limits.ts'
import { matches, ruledString } from './string-rules.ts'

const segmentsOf = (value: string): string[] => value.split('/').slice(1)

/**
 * An absolute, already-normalised path (backup files, state and config directories): no ".." or "." to climb out of
 * a directory, no "//", no control characters or shell metacharacters, so what is checked is what is opened.
 */
export const absolutePathSchema = ruledString(LIMITS.path, [
  matches(/^\//, 'a path must be absolute (start with "/")'),
  matches(/^[A-Za-z0-9._@+,=~/-]+$/, 'a path may hold only letters, digits, "/" and . _ @ + , = ~ -'),
  [(value) => value === '/' || !value.endsWith('/'), 'a path must not end with "/"'],
  [
    (value) => value === '/' || segmentsOf(value).every((s) => s !== '' && s !== '.' && s !== '..'),
    'a path must be normalised: no "//", "." or ".." segments',
  ],
])
