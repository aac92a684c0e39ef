import { dbEngineSchema } from '@alfa/protocol'
import { describe, expect, it } from 'vitest'
import { MOVE_FILE_NAME, moveArchiveName, moveDumpName } from './move-files.ts'

describe("the names of a move's files", () => {
  const at = Date.parse('2026-12-02T04:05:06.789Z')

  it.each(dbEngineSchema.options.flatMap((engine) => [false, true].map((packed) => [engine, packed] as const)))(
    'a %s dump (compressed: %s) is named with its extension and recognised by recovery',
    (engine, packed) => {
      const name = moveDumpName('lab-one', engine, at, packed)
      expect(name).toBe(
        `lab-one-move-2026-12-02T04-05-06-789Z${engine === 'mariadb' ? '.sql' : '.dump'}${packed ? '.zst' : ''}`,
      )
      expect(MOVE_FILE_NAME.test(name)).toBe(true)
    },
  )

  it('the files archive is recognised too, and nothing but the names made here', () => {
    expect(MOVE_FILE_NAME.test(moveArchiveName('lab-one', at))).toBe(true)
    for (const other of [
      'lab-one-2026-12-02T04-05-06-789Z.sql',
      'lab-one-move-x.sqlx',
      'lab-one-move-x.tar',
      '../lab-one-move-x.sql',
      'lab-one-move-x.sql/../../etc',
      'Lab-one-move-x.sql',
    ])
      expect(MOVE_FILE_NAME.test(other), other).toBe(false)
  })
})
