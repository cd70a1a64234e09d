import { defineConfig } from 'vitest/config';

// Two projects: `unit` (fast, no services, run by `npm run check`) and `integration` (real processes, PostgreSQL,
// Redis, browsers; skipped per suite when a service is not configured). `npm test` runs both.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
          // A hang guard: hooks open a SQLite store and run every migration, which took over the default 10 s in
          // create-user-accounts.test.ts while the machine was loaded (~30).
          hookTimeout: 60_000,
          // Unit files share one module graph per worker thread instead of re-importing the gateway's modules for
          // every file: `npm run check` went from about 41 s to 17 s of tests on two cores. Safe because unit tests
          // mock no modules, stub no globals and fake no timers; each builds what it needs (checked with shuffled
          // orders).
          pool: 'threads',
          isolate: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.integration.test.ts', 'test/**/*.integration.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
