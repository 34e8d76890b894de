// Mutation testing of the detection logic (`npm run mutate`; not part of CI:
// it takes minutes on two cores). StrykerJS 9 is the newest major that runs
// on Node 20 (10 needs Node 22). The unit tests of these modules run
// in-process through vitest; tests that drive the built CLI would see no
// mutant, so vitest.mutate.config.ts leaves them out.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts" },
  mutate: [
    "src/protocol/response-parser.ts",
    "src/analyze/stalls.ts",
    "src/analyze/session.ts",
    "src/analyze/reassembly.ts",
    "src/analyze/causes.ts",
    "src/analyze/cause-*.ts",
    "src/analyze/attribution.ts",
  ],
  coverageAnalysis: "perTest",
  // Module-level constants (rule names, advice text, RTX_KINDS labels) are evaluated once when a
  // module loads; their mutants survived even where a unit test asserts them (this runner does not
  // reload a module per mutant). The fixture tests check those strings through analyze's output.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  ignorePatterns: ["dist", "bench/out", "reports", "docs/api", "/.stryker-tmp*"],
  thresholds: { high: 90, low: 80, break: null },
};
