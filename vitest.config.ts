import { defineConfig } from 'vitest/config'

// Two projects: `unit` (beside the code, no system services) and `integration` (test/, real Docker, nginx,
// MariaDB, PostgreSQL, SMTP, real processes). test/setup/global.ts starts the private service instances once per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The machine has 2 cores and the tests start real processes and containers.
          maxWorkers: 2,
        },
      },
    ],
  },
})
