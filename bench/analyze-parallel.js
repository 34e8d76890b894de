// analyze on one thread vs two (--threads 2: this one and a worker), side by side, on the same
// files: (a) a 10-file ring cut from one ≥ 2M-packet capture (one capture:
// split by flow hash), (b) the same traffic as 4 separate captures of the
// same time span, one per group of connections (split by file). The capture
// is the many-flows one of the analyzer benchmark (thousands of connections,
// as on a busy server). Rounds alternate; medians of wall and CPU time. The
// results of the two must be identical, field for field.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { BENCH_MIN_PACKETS, benchCaptures, splitByConnection } from "./big-capture.js";
import { hasCommand, median } from "./lib.js";
import { measure } from "./measure.js";

const BIN = fileURLToPath(new URL("../bin/mcdiag.js", import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RING_FILES = 10;
const SEPARATE_FILES = 4;
const TARGET = 1.5;

const round = (x) => Math.round(x * 100) / 100;

export async function analyzeParallel() {
  for (const tool of ["editcap", "tcpdump"])
    if (!hasCommand(tool)) throw new Error(`${tool} is needed (Debian: apt-get install tshark tcpdump)`);
  const { dir, many, made, dispose } = await benchCaptures();
  const ring = `${dir}parallel-ring/`;
  const separate = `${dir}parallel-separate/`;
  for (const d of [ring, separate]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
  }
  const packets = Number(
    /(\d+)/.exec(execFileSync("capinfos", ["-c", "-M", many], { encoding: "utf8" }).split("\n")[1])[1],
  );
  execFileSync("editcap", ["-c", String(Math.ceil(packets / RING_FILES)), many, `${ring}ring.pcap`]);
  splitByConnection(
    many,
    Array.from({ length: SEPARATE_FILES }, (_, i) => `${separate}host${i + 1}.pcap`),
    made.port,
  );
  const cases = [
    ["ring", ring],
    ["separate", separate],
  ];
  const modes = [
    ["oneThread", ["--threads", "1"]],
    ["twoThreads", ["--threads", "2"]],
  ];
  const load = [loadavg()[0]];
  const times = {};
  for (const [name] of cases) times[name] = Object.fromEntries(modes.map(([m]) => [m, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, input] of cases) {
      // Alternate which goes first, so neither always meets the same neighbour load.
      const order = r % 2 === 0 ? modes : [...modes].reverse();
      for (const [mode, args] of order) {
        const out = `${dir}parallel-${name}-${mode}.json`;
        times[name][mode].push(
          await measure(process.execPath, [BIN, "analyze", input, "--port", String(made.port), "--json", ...args], {
            stdout: out,
          }),
        );
      }
    }
    load.push(loadavg()[0]);
  }
  const runs = {};
  let pass = true;
  for (const [name] of cases) {
    const one = JSON.parse(readFileSync(`${dir}parallel-${name}-oneThread.json`, "utf8"));
    const two = JSON.parse(readFileSync(`${dir}parallel-${name}-twoThreads.json`, "utf8"));
    // Field for field (the order of keys in an object aside).
    const same = isDeepStrictEqual(one, two);
    const t = times[name];
    const m = (mode, k) => median(t[mode].map((x) => x[k]));
    const speedupWall = round(m("oneThread", "seconds") / m("twoThreads", "seconds"));
    runs[name] = {
      files: readdirSync(cases.find((c) => c[0] === name)[1]).length,
      packets: one.packets,
      flows: one.flows,
      requests: one.requests.total,
      stalls: one.stalls.request + one.stalls.response,
      identicalResults: same,
      oneThread: { wallSeconds: round(m("oneThread", "seconds")), cpuSeconds: round(m("oneThread", "cpuSeconds")) },
      twoThreads: {
        wallSeconds: round(m("twoThreads", "seconds")),
        cpuSeconds: round(m("twoThreads", "cpuSeconds")),
        peakRssMb: Math.max(...t.twoThreads.map((x) => x.peakRssMb)),
      },
      speedupWall,
      cpuRatio: round(m("twoThreads", "cpuSeconds") / m("oneThread", "cpuSeconds")),
      // Two cores run at most 2 s of CPU a second: the ceilings on the speed-up.
      /** Cores one thread already keeps busy (V8's collector and compiler threads run beside it). */
      oneThreadCores: round(m("oneThread", "cpuSeconds") / m("oneThread", "seconds")),
      /** The most two cores allow for a split costing the CPU this one did. */
      ceilingAtThisCpu: round((2 * m("oneThread", "seconds")) / m("twoThreads", "cpuSeconds")),
      /** The most two cores allow for a split that added no CPU at all. */
      ceilingAddingNoCpu: round((2 * m("oneThread", "seconds")) / m("oneThread", "cpuSeconds")),
    };
    if (!same) throw new Error(`${name}: one thread and two threads gave different results`);
    if (one.packets < BENCH_MIN_PACKETS)
      throw new Error(`${name}: ${one.packets} packets, fewer than ${BENCH_MIN_PACKETS}`);
    pass &&= speedupWall >= TARGET;
  }
  dispose();
  for (const d of [ring, separate]) rmSync(d, { recursive: true, force: true });
  return {
    name: "analyze on one thread vs two (a 10-file ring of one capture; 4 separate captures)",
    rounds: ROUNDS,
    loadAverage1m: load.map(round),
    runs,
    target: `two threads at least ${TARGET}× faster (median wall time) on both, with identical results`,
    pass,
  };
}
