import { defineConfig } from 'vitest/config'

// Two projects: `unit` (beside the code, no system services) and `integration` (test/, real Docker, nginx,
// MariaDB, PostgreSQL, SMTP, real processes). test/setup/global.ts starts the private service instances once per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Each project has its own worker limit, which vitest allows only when the projects run in separate groups.
          sequence: { groupOrder: 1 },
          include: ['packages/*/src/**/*.test.ts', 'bench/lib/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 2 },
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
