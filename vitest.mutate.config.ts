import { defineConfig } from "vitest/config";

// The tests `npm run mutate` runs against each mutant: the in-process tests
// of the detection modules. Tests that drive the built CLI see no mutant, and
// the comparisons with tshark (seconds each, per mutant) are left to `npm test`.
export default defineConfig({
  test: {
    include: [
      "test/protocol/response-parser*.test.ts",
      "test/analyze/causes.test.ts",
      "test/analyze/stalls.test.ts",
      "test/analyze/cause-rules.test.ts",
      "test/analyze/fixtures.test.ts",
      "test/analyze/reassembly.test.ts",
      "test/analyze/seq.test.ts",
      "test/analyze/decode.test.ts",
      "test/analyze/properties.test.ts",
      "test/analyze/readers.test.ts",
    ],
    testNamePattern: /^(?!.*tshark).*$/,
    testTimeout: 60_000,
    fileParallelism: false,
  },
});
