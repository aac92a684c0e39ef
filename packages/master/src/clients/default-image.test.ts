import { describe, expect, it } from 'vitest'
import { newestImage } from './default-image.ts'

describe('newestImage', () => {
  it('picks the highest version, numeric parts compared as numbers', () => {
    const images = [
      { ref: 'alfa/mol:1.9.0-master', version: '1.9.0' },
      { ref: 'alfa/mol:1.10.0-master', version: '1.10.0' },
      { ref: 'alfa/mol:1.2.0-master', version: '1.2.0' },
    ]
    expect(newestImage(images)).toBe('alfa/mol:1.10.0-master')
  })

  it('uses the tag when an image has no version label, and answers undefined for none', () => {
    expect(
      newestImage([
        { ref: 'alfa/demo:1.0.0', version: null },
        { ref: 'alfa/demo:2.0.0', version: null },
      ]),
    ).toBe('alfa/demo:2.0.0')
    expect(newestImage([])).toBeUndefined()
  })
})
