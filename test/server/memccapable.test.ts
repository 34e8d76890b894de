import { execFile, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../helpers/serve.js";
import { requireTool } from "../helpers/tools.js";

/**
 * libmemcached's conformance tool against `mcdiag serve`, the way a user
 * would run it: every text test (-a) and every binary test (-b) passes.
 */
const have = requireTool("memccapable", "conformance of mcdiag serve (Debian libmemcached-tools)");

function memccapable(port: number, flag: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      "memccapable",
      ["-h", "127.0.0.1", "-p", String(port), "-t", "5", flag],
      { timeout: 120_000 },
      (_e, out, err) => resolve(String(out) + String(err)),
    );
  });
}

describe.runIf(have)("memccapable against mcdiag serve", () => {
  let child: ReturnType<typeof spawn>;
  let port = 0;
  beforeAll(async () => {
    ({ child, port } = await startServe());
  });
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("memccapable -a: all 27 text tests pass", async () => {
    const out = await memccapable(port, "-a");
    expect(out).toContain("All tests passed");
    expect(out).not.toContain("[FAIL]");
    expect(out.match(/\[pass\]/g)?.length).toBe(27);
  });

  it("memccapable -b: all 27 binary tests pass", async () => {
    const out = await memccapable(port, "-b");
    expect(out).toContain("All tests passed");
    expect(out).not.toContain("[FAIL]");
    expect(out.match(/\[pass\]/g)?.length).toBe(27);
  });
});
