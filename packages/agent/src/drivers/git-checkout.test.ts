import { describe, expect, it } from 'vitest'
import { checkoutDirFor, redactGitText } from './git-checkout.ts'

describe('git checkout helpers', () => {
  it('does redact credentials in URLs that git echoes, keeping the rest', () => {
    const text = "fatal: unable to access 'https://deploy:s3cret@git.example.com/alfa/mol.git/': 403"
    expect(redactGitText(text)).toBe("fatal: unable to access 'https://***@git.example.com/alfa/mol.git/': 403")
    expect(redactGitText('fatal: could not read from ssh://git@host/mol')).toBe(
      'fatal: could not read from ssh://***@host/mol',
    )
  })

  it('does name a checkout by a hash of its URL, inside the checkouts directory', () => {
    const dir = checkoutDirFor('/state/checkouts', 'https://git.example.com/../../etc')
    expect(dir).toMatch(/^\/state\/checkouts\/[0-9a-f]{24}$/)
    expect(checkoutDirFor('/s', 'a')).not.toBe(checkoutDirFor('/s', 'b'))
  })
})
