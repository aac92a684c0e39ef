import { describe, expect, it } from 'vitest'
import { AppProfile, LARAVEL_PROFILE } from './app-profile.ts'
import { dataKeyForPath, dataPathSchema, volumeNameForData } from './names.ts'

describe('data paths', () => {
  it('accepts relative and absolute plain paths and derives the key and volume name', () => {
    expect(dataKeyForPath('storage/app')).toBe('storage-app')
    expect(dataKeyForPath('/var/www/html/storage/app')).toBe('var-www-html-storage-app')
    expect(volumeNameForData('lab-1', 'storage/app')).toBe('alfa-lab-1.storage-app')
    expect(AppProfile.parse(LARAVEL_PROFILE).dataPaths).toEqual(['storage/app'])
  })

  it.each([
    '..',
    '../../etc/x',
    'storage/../..',
    'storage//app',
    'storage/app/',
    './storage',
    'a; rm -rf /',
    '$(id)',
    'storage\napp',
    'Storage/App',
    '',
    '/',
  ])('refuses %j', (value) => {
    expect(dataPathSchema.safeParse(value).success).toBe(false)
  })

  it('refuses two data paths that would share a volume, and a bad slug in a volume name', () => {
    const parsed = AppProfile.safeParse({ ...LARAVEL_PROFILE, dataPaths: ['a/b', 'a-b'] })
    expect(parsed.success).toBe(false)
    expect(() => volumeNameForData('../x', 'storage/app')).toThrow()
  })
})
