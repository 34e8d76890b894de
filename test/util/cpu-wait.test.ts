import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ThreadCpuWait, waitNsOf } from "../../src/util/cpu-wait.js";
import { BIN, run } from "../helpers/cli.js";
import { requireTool } from "../helpers/tools.js";

describe("the generator's wait for a CPU", () => {
  it("reads the run-queue wait from a schedstat line, and nothing from anything else", () => {
    const wait = (line: string) => waitNsOf(Buffer.from(line), Buffer.byteLength(line));
    expect(wait("5922598465 155600394 874\n")).toBe(155600394);
    expect(wait("")).toBe(-1);
    expect(wait("12 34")).toBe(-1);
    expect(wait("12 x 3")).toBe(-1);
  });

  // Linux only: other kernels have no per-thread schedstat (CI runs Linux).
  it.runIf(process.platform === "linux")("is read on Linux, and only grows", () => {
    const clock = ThreadCpuWait.open()!;
    try {
      const first = clock.waitNs();
      expect(first).toBeGreaterThanOrEqual(0);
      expect(clock.waitNs()).toBeGreaterThanOrEqual(first);
    } finally {
      clock.close();
    }
  });

  // A busy loop pinned to the generator's only CPU takes about half of it:
  // the generator then waits for the CPU, and the report must say so.
  // taskset comes with util-linux.
  it.runIf(process.platform === "linux" && requireTool("taskset", "pins a busy loop beside the generator"))(
    "a generator sharing its CPU with a busy process says how long it waited for a CPU",
    async () => {
      const hog = spawn(
        "taskset",
        ["-c", "0", process.execPath, "-e", "const end = Date.now() + 20000; while (Date.now() < end);"],
        {
          stdio: "ignore",
        },
      );
      try {
        const j = JSON.parse(await pinnedToCpu0(["--json"])) as {
          generatorCpuWaitPercent: number;
          generatorWarning?: string;
        };
        // Fair scheduling gives each of the two about half of the time both want the CPU (17–19 % of the run here).
        expect(j.generatorCpuWaitPercent).toBeGreaterThan(10);
        expect(j.generatorWarning).toMatch(/waited for a CPU [\d.]+ % of the run/);
        const text = await pinnedToCpu0([]);
        expect(text).toMatch(/^generator: .*, waited for a CPU [\d.]+ % of the run;/m);
      } finally {
        hog.kill("SIGKILL");
      }
    },
    30000,
  );
});

/** A 2 s probe of the embedded server at 2,000/s on CPU 0 only, within 20 s; resolves with its report (an unhealthy run exits 1: it is read anyway). */
async function pinnedToCpu0(extra: string[]): Promise<string> {
  const args = [BIN, "probe", "--embedded", "--rate", "2000", "--duration", "2s", ...extra];
  const r = await run("taskset", ["-c", "0", process.execPath, ...args], { timeoutMs: 20000 });
  if (r.stdout.startsWith("{") || r.stdout.includes("mcdiag probe")) return r.stdout;
  throw new Error(`mcdiag exited ${r.code} without a report: ${r.stderr}`);
}
