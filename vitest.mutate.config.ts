import { defineConfig } from "vitest/config";

// The tests `npm run mutate` runs against each mutant: the in-process unit
// tests of the detection modules (no CLI, no child processes).
export default defineConfig({
  test: {
    include: ["test/protocol/response-parser*.test.ts"],
    testTimeout: 60_000,
    fileParallelism: false,
  },
});
