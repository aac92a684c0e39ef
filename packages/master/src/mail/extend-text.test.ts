import { describe, expect, it } from 'vitest'
import { DEFAULT_EXTEND_TEXT, defaultExtendText, NO_REPLY_EXTEND_TEXT, repliesReachSomeone } from './letter-content.ts'
import { DEFAULT_MAIL_FROM } from './mail-services.ts'

describe('the default "how to extend" line', () => {
  it.each([
    DEFAULT_MAIL_FROM,
    'noreply@alfa.example',
    'Alfa Cloud <no-reply@alfa.example>',
    '"Alfa" <DoNotReply@alfa.example>',
    'do-not-reply@alfa.example',
  ])('does not invite a reply from %s without a Reply-To', (from) => {
    expect(repliesReachSomeone(from, undefined)).toBe(false)
    expect(defaultExtendText(from, undefined)).toBe(NO_REPLY_EXTEND_TEXT)
    expect(NO_REPLY_EXTEND_TEXT.ru).not.toContain('ответьте')
    expect(NO_REPLY_EXTEND_TEXT.en).not.toContain('reply')
  })

  it.each([
    ['Alfa Cloud <billing@alfa.example>', undefined],
    ['support@alfa.example', undefined],
    ['noreplyish@alfa.example', undefined],
    [DEFAULT_MAIL_FROM, 'support@alfa.example'],
  ])('does invite a reply from %s (Reply-To %s)', (from, replyTo) => {
    expect(defaultExtendText(from, replyTo)).toBe(DEFAULT_EXTEND_TEXT)
  })
})
