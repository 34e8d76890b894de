// Lint: typescript-eslint with type information for src/ (floating promises,
// unused code, explicit any); plain recommended rules for the JavaScript of
// bench/, fuzz/, tools/, fixtures/ and examples/. Formatting is Prettier's job, not ESLint's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "bench/out/", "docs/api/", "fuzz/crashes/", "reports/", ".stryker-tmp*/"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // tools/ holds plain JavaScript for bench/ and fuzz/; its declaration files let the tests import it.
        projectService: { allowDefaultProject: ["vitest.config.ts", "vitest.mutate.config.ts", "tools/*.d.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
  {
    // Tests read the JSON the CLI printed: untyped by nature. Each assertion
    // names the field it checks, so an unsafe access fails the test, not the lint.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
);
