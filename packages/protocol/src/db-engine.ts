import { z } from 'zod'

/** The database engines a server can host client databases on; the Client and Server rows use the same names. */
export const dbEngineSchema = z.enum(['mariadb', 'postgresql'])

export type DbEngine = z.infer<typeof dbEngineSchema>
