// Bytes allocated per request by the closed-loop probe, measured the same way
// for this build and an earlier one (BENCH_BASELINE_REF, default `main`):
// V8's own count of bytes allocated between collections (`--trace-gc-nvp`,
// the `allocated=` of every GC), with a 1 MB young generation so little is
// left uncounted at exit. Each build runs twice, short and long, against the
// same memcached; the difference in bytes over the difference in requests
// is the cost of one more request, free of start-up and seeding.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAt } from "./baseline.js";
import { hasCommand, median, startMemcached } from "./lib.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const REF = process.env.BENCH_BASELINE_REF ?? "main";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SHORT_S = 2;
const LONG_S = 6;

/** Runs one closed-loop probe under --trace-gc-nvp; resolves with the requests and the bytes V8 allocated. */
function measuredProbe(bin, server, seconds) {
  return new Promise((resolve, reject) => {
    const args = [
      "--max-semi-space-size=1",
      "--trace-gc-nvp",
      bin,
      "probe",
      server,
      "--pool",
      "16",
      "--concurrency",
      "16",
      "--duration",
      `${seconds}s`,
      "--json",
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      // GC trace lines go to stdout too; the JSON report is the one object in it.
      let allocated = 0;
      for (const m of out.matchAll(/ allocated=(\d+)/g)) allocated += Number(m[1]);
      const json = /^\{[\s\S]*^\}/m.exec(out);
      if (json === null) return reject(new Error(`probe with ${bin} exited ${code} without a report`));
      const j = JSON.parse(json[0]);
      resolve({ requests: j.requests, allocated, throughput: j.throughputPerSec });
    });
  });
}

export async function probeAllocations() {
  if (!hasCommand("memcached")) throw new Error("memcached is needed (Debian: apt-get install memcached)");
  const base = buildAt(REF);
  const mc = await startMemcached();
  const server = `127.0.0.1:${mc.port}`;
  const perRequest = { new: [], baseline: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of round % 2 === 0 ? ["baseline", "new"] : ["new", "baseline"]) {
        const bin = which === "new" ? join(ROOT, "bin/mcdiag.js") : base.bin;
        const short = await measuredProbe(bin, server, SHORT_S);
        const long = await measuredProbe(bin, server, LONG_S);
        const bytes = (long.allocated - short.allocated) / (long.requests - short.requests);
        perRequest[which].push(bytes);
        process.stderr.write(
          `round ${round + 1}/${ROUNDS} ${which}: ${Math.round(bytes)} bytes per request (${long.requests} requests, ${long.throughput}/s)\n`,
        );
      }
    }
  } finally {
    mc.stop();
    base.cleanup();
  }
  const now = median(perRequest.new);
  const before = median(perRequest.baseline);
  return {
    name: `bytes allocated per request, closed loop (16 connections), vs ${REF} (${base.commit})`,
    bytesPerRequest: Math.round(now),
    baselineBytesPerRequest: Math.round(before),
    ratio: Math.round((before / now) * 10) / 10,
    target: "≥ 5× fewer than the baseline",
    pass: before / now >= 5,
    rounds: ROUNDS,
  };
}
