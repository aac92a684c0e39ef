import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The templates shipped with the master; ALFA_MAIL_TEMPLATES_DIR points elsewhere to use an operator's copy. */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../mail-templates/', import.meta.url))

export const LETTER_KINDS = ['success', 'expire', 'reminder'] as const
export type LetterKind = (typeof LETTER_KINDS)[number]

export const LETTER_LANGUAGES = ['ru', 'en'] as const
export type LetterLanguage = (typeof LETTER_LANGUAGES)[number]

/** Russian is the default: the customers are Russian laboratories; anything unknown falls back to it. */
export function letterLanguage(value: string | null | undefined): LetterLanguage {
  return value === 'en' ? 'en' : 'ru'
}

/** A rendered letter: every letter carries both a plain-text and an HTML part. */
export interface RenderedLetter {
  subject: string
  text: string
  html: string
}

/** A template names a value nobody provides; the letter fails with this message rather than mail "{{typo}}". */
export class TemplateError extends Error {
  override name = 'TemplateError'
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!)
}

/**
 * Replaces `{{name}}` with its value, escaped by `escape`. Deliberately tiny (no logic, no partials): operators edit
 * these files, and a template that can only substitute cannot run code or leak other values.
 */
export function renderTemplate(
  template: string,
  values: Record<string, string>,
  escape: (v: string) => string,
  where: string,
): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = values[name]
    if (value === undefined) throw new TemplateError(`${where}: unknown placeholder {{${name}}}`)
    return escape(value)
  })
}

/**
 * Reads and renders `<dir>/<language>/<kind>.{subject.txt,txt,html}`. Read on every letter (a few small files) so
 * an operator's edit applies without a restart.
 */
export async function renderLetter(
  dir: string,
  language: LetterLanguage,
  kind: LetterKind,
  values: Record<string, string>,
): Promise<RenderedLetter> {
  const read = async (suffix: string) => {
    const file = path.join(dir, language, `${kind}.${suffix}`)
    try {
      return { file, body: await readFile(file, 'utf8') }
    } catch (err) {
      throw new TemplateError(`template ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    }
  }
  const [subject, text, html] = await Promise.all([read('subject.txt'), read('txt'), read('html')])
  // A subject is one header line: newlines in the file (or a value) must not start new headers.
  const oneLine = (v: string) => v.replace(/[\r\n]+/g, ' ')
  return {
    subject: oneLine(renderTemplate(subject.body, values, oneLine, subject.file)).trim(),
    text: renderTemplate(text.body, values, (v) => v, text.file),
    html: renderTemplate(html.body, values, escapeHtml, html.file),
  }
}
