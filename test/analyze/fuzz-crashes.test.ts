import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";

// Every input `npm run fuzz` ever kept: each must now end in a report (0) or one clean line (2).
const dir = fileURLToPath(new URL("../../fuzz/crashes/", import.meta.url));
const kept = readdirSync(dir).filter((f) => f.endsWith(".bin"));

describe("inputs the fuzzer once broke analyze with", () => {
  it("the crash folder is there to keep them", () => {
    expect(readdirSync(dir)).toContain(".gitkeep");
  });
  for (const f of kept) {
    it(`${f}: ${readFileSync(`${dir}${f.replace(/\.bin$/, ".txt")}`, "utf8").split("\n")[0]}`, async () => {
      const r = await mcdiag(["analyze", `${dir}${f}`, "--json"], { timeoutMs: 10_000 });
      expect([0, 2]).toContain(r.code);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      if (r.code === 2) expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  }
});
