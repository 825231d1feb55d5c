import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Function and test logs are shown for failing tests only.
    silent: "passed-only",
    // Two cores: two files at a time keeps concurrent-claim tests honest without starving Postgres.
    maxWorkers: 2,
  },
});
