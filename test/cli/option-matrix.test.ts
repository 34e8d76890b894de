import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { capture } from "../helpers/fixtures.js";

/**
 * Every numeric option of every command × hostile values. Each run must be
 * a clean error (exit 2, one line, no stack trace) or bounded work that
 * SIGINT stops: exit 0, 1, 3 or 130 soon after the signal.
 */
const VALUES = ["-1", "0", "NaN", "1e309", "99999999999999999999", "1.5", "600h"];

const LOAD = [
  "--pool",
  "--concurrency",
  "--duration",
  "--requests",
  "--keys",
  "--value-size",
  "--timeout",
  "--connect-timeout",
  "--warmup",
  "--stall-threshold",
  "--min-success",
];

/** [command line before the option, options, command line after it] */
const MATRIX: [string[], string[], string[]][] = [
  [["probe", "--embedded"], [...LOAD, "--rate"], []],
  [["compare", "--embedded"], LOAD, []],
  [["demo"], LOAD, []],
  [
    ["sweep", "--embedded", "--rates", "100"],
    ["--step-duration", "--pause", "--pool", "--keys", "--value-size", "--timeout", "--warmup", "--min-success"],
    [],
  ],
  [["sweep", "--embedded"], ["--rates"], []],
  [["sweep", "--embedded", "--to", "1000"], ["--from"], []],
  [["sweep", "--embedded", "--from", "100"], ["--to"], []],
  [["sweep", "--embedded", "--from", "100", "--to", "200"], ["--steps"], []],
  [["pool-size", "--hold", "1ms"], ["--rate"], []],
  [["pool-size", "--rate", "100"], ["--hold"], []],
  [["pool-size", "--rate", "100", "--hold", "1ms"], ["--pool", "--target-wait", "--compare-hold"], []],
  [
    ["analyze", capture("split-nagle.pcapng")],
    ["--port", "--stall-threshold", "--ack-window", "--top", "--max-items"],
    [],
  ],
  [
    ["check"],
    ["--timeout", "--max-writes-per-command", "--large-command", "--stall-threshold", "--min-commands"],
    ["--", process.execPath, "-e", ""],
  ],
  [["serve", "--port", "0"], ["--delay"], []],
  [["serve"], ["--port"], []],
];

/**
 * When the signal comes: once the work has begun. A process the signal kills had not yet installed
 * its handler (Node starts slowly on a busy machine): it is run again with more time before it.
 */
const INTERRUPT_AFTER_MS = [1200, 5000, 15_000];
/**
 * How long an interrupted run may take to stop. Every hostile value here would run for hours or
 * not at all: any exit this side of the bound is the signal's doing, on an idle or a busy machine.
 */
const EXIT_WITHIN_MS = 20_000;

interface Outcome {
  args: string[];
  code: number | null;
  /** Killed by the signal itself: it came before the CLI had installed its handler (or after it removed it). */
  killed: boolean;
  stderr: string;
  interrupted: boolean;
  msAfterSignal: number;
}

function runOnce(args: string[], afterMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let signalledAt = 0;
    child.stderr.on("data", (d) => (stderr += d));
    const sig = setTimeout(() => {
      signalledAt = Date.now();
      child.kill("SIGINT");
    }, afterMs);
    const kill = setTimeout(() => child.kill("SIGKILL"), afterMs + EXIT_WITHIN_MS + 5000);
    child.on("exit", (code, signal) => {
      clearTimeout(sig);
      clearTimeout(kill);
      resolve({
        args,
        code: code ?? (signal === "SIGKILL" ? -9 : null),
        killed: signal === "SIGINT",
        stderr,
        interrupted: signalledAt > 0,
        msAfterSignal: signalledAt > 0 ? Date.now() - signalledAt : 0,
      });
    });
  });
}

/** What is wrong with an outcome, or undefined. */
function problem(o: Outcome): string | undefined {
  const what = `mcdiag ${o.args.join(" ")}`;
  if (/\n\s+at /.test(o.stderr) || /internal error/.test(o.stderr))
    return `${what}: stack trace or internal error: ${o.stderr}`;
  if (![0, 1, 2, 3, 130].includes(o.code ?? -1)) return `${what}: exit ${o.code}: ${o.stderr}`;
  if (o.code === 2 && !o.interrupted && o.stderr.split("\n").filter((l) => l !== "").length !== 1) {
    return `${what}: not one line: ${JSON.stringify(o.stderr)}`;
  }
  if (o.interrupted && o.msAfterSignal > EXIT_WITHIN_MS) return `${what}: ${o.msAfterSignal} ms after SIGINT`;
  return undefined;
}

async function runAll(lines: string[][], parallel = 3): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < lines.length) {
        const args = lines[next++]!;
        let o = await runOnce(args, INTERRUPT_AFTER_MS[0]!);
        for (const afterMs of INTERRUPT_AFTER_MS.slice(1)) if (o.killed) o = await runOnce(args, afterMs);
        const p = o.killed
          ? `mcdiag ${args.join(" ")}: killed by SIGINT ${INTERRUPT_AFTER_MS.length} times`
          : problem(o);
        if (p !== undefined) problems.push(p);
      }
    }),
  );
  return problems;
}

describe("CLI option matrix: hostile numeric values", () => {
  it.each(MATRIX.map((m) => [m[0].slice(0, 1).join(" ") + " " + m[1].join(" "), m] as const))(
    "%s",
    async (_name, [before, options, after]) => {
      const lines = options.flatMap((o) => VALUES.map((v) => [...before, o, v, ...after]));
      expect(await runAll(lines)).toEqual([]);
    },
    600_000,
  );
});
