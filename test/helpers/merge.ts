import { expect } from "vitest";
import { mcdiag } from "./cli.js";

/** `mcdiag merge ARGS` refuses its input: exit 2, one line on stderr matching `want`, nothing on stdout. */
export async function expectMergeRefused(args: string[], want: RegExp): Promise<void> {
  const r = await mcdiag(["merge", ...args]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(want);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stdout).toBe("");
}
