import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real servers and real TCP timers: give them time, and run files one at
    // a time so two stall tests never share the two cores.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    fileParallelism: false,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
