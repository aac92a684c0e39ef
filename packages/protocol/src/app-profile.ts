import { z } from 'zod'
import { LIMITS } from './limits.ts'
import { dataKeyForPath, dataPathSchema } from './names.ts'
import { portSchema } from './scalars.ts'

/** One argv item: no NUL or line breaks (they could smuggle a second line into a log or an interpreter). */
const argvItem = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\0\r\n]+$/, 'an argv item has no NUL or line breaks')

/** An argv run inside the client's container with docker exec: never a shell string. */
export const argvSchema = z.array(argvItem).min(1).max(64)

/**
 * How the hosted app is operated, as data: the master's configuration (overridable per image) sends it with the
 * commands that need it. `{login}` in setOwnerPassword is replaced by the owner's validated login; the password
 * itself goes in on stdin, never on argv.
 */
export const AppProfile = z.strictObject({
  /** The port the app listens on inside its container. */
  containerPort: portSchema,
  /** Path nginx-side health probes request (a 2xx means available). */
  healthPath: z
    .string()
    .max(200)
    .regex(/^\/[A-Za-z0-9._~/-]*$/, 'an absolute URL path'),
  /** Database migrations (Laravel: php artisan migrate --force). */
  migrate: argvSchema,
  /** Demo data in (Laravel: php artisan db:seed --class=DemoSeeder --force). */
  demoSeed: argvSchema,
  /** Demo data out (the inverse seeder). */
  demoUnseed: argvSchema,
  /** Sets the laboratory owner's password, read from stdin; `{login}` is replaced by the owner's login. */
  setOwnerPassword: argvSchema,
  /** One SELECT returning the number of users as its first column. */
  usersCountSql: z
    .string()
    .min(1)
    .max(LIMITS.shortText)
    .regex(/^\s*select\b[^;]*$/i, 'one SELECT statement, no semicolon'),
  /**
   * Directories the app writes its own files to (Laravel: `storage/app`), absolute or relative to the image's
   * working directory: each is a named volume per client that survives switch, deploy and reboot and travels with
   * snapshots, the final backup, move and copy. Absent means none.
   */
  dataPaths: z
    .array(dataPathSchema)
    .max(8)
    .refine(
      // Only the valid paths are keyed: an invalid one already fails its own check, and keying it would throw
      // out of safeParse instead of answering (a hostile profile must get an error, not a crash).
      (paths) => {
        const valid = paths.filter((path) => dataPathSchema.safeParse(path).success)
        return new Set(valid.map((path) => dataKeyForPath(path))).size === valid.length
      },
      'two data paths name the same volume (e.g. "a/b" and "a-b")',
    )
    .optional(),
})
export type AppProfile = z.infer<typeof AppProfile>

/** The Mol Laravel app: what a client runs unless its image's profile says otherwise. */
export const LARAVEL_PROFILE: AppProfile = {
  containerPort: 8080,
  healthPath: '/up',
  migrate: ['php', 'artisan', 'migrate', '--force'],
  demoSeed: ['php', 'artisan', 'db:seed', '--class=DemoSeeder', '--force'],
  demoUnseed: ['php', 'artisan', 'db:seed', '--class=DemoUnseeder', '--force'],
  setOwnerPassword: ['php', 'artisan', 'alfa:owner-password', '{login}'],
  usersCountSql: 'SELECT COUNT(*) FROM users',
  dataPaths: ['storage/app'],
}
