import type { AuthVariables } from '../auth/basic-auth.ts'

/** Hono environment shared by every route of the master. */
export interface AppEnv {
  Variables: AuthVariables
}
