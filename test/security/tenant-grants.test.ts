// MariaDB grants name databases by pattern, where "_" matches any character: a grant on `alfa_gr_42`.* would also
// cover `alfa_grx42`, another client's database. Two real clients made by the agent's client.create whose names
// differ only there: the first tenant can neither read nor write the second's database.
import { describe, expect } from 'vitest'
import { dbNameForSlug } from '@alfa/protocol'
import { mariadbAs } from './tenant-access.ts'
import { reportSecurityCases, securityCase } from './report.ts'
import { useTenantEnv } from './tenant-setup.ts'

reportSecurityCases()
const tenants = useTenantEnv({ markersPrefix: 'alfa-grants' })

describe('MariaDB grants', () => {
  securityCase(
    'a tenant cannot reach a database whose name matches its own with "_" as a wildcard',
    async () => {
      await tenants.createClient('gr-42', 'mariadb')
      await tenants.createClient('grx42', 'mariadb')
      const other = dbNameForSlug('grx42')
      const tenant = await mariadbAs(tenants.env, 'gr-42', 'tenant')
      try {
        // Its own database works: the refusals below are about the other one, not a broken login.
        await expect(tenant.query('SELECT COUNT(*) AS n FROM users')).resolves.toBeTruthy()
        await expect(tenant.query(`SELECT COUNT(*) AS n FROM \`${other}\`.users`)).rejects.toThrow(/denied/i)
        await expect(tenant.query(`CREATE TABLE \`${other}\`.loot (id int)`)).rejects.toThrow(/denied/i)
        await expect(tenant.query(`DROP DATABASE \`${other}\``)).rejects.toThrow(/denied/i)
      } finally {
        await tenant.end()
      }
      const admin = await mariadbAs(tenants.env, 'grx42', 'admin')
      try {
        const [tables] = await admin.query('SHOW TABLES')
        expect((tables as unknown[]).length).toBeGreaterThan(0)
      } finally {
        await admin.end()
      }
    },
    300_000,
  )
})
